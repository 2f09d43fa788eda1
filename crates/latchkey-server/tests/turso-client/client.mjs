// Turso's official client (@tursodatabase/api, pinned in package.json) against a running
// latchkey. Every answer is asserted; the first failure exits non-zero.
//
// Environment: LATCHKEY_URL, ADMIN_TOKEN (an unscoped account-wide token of an admin of ORG),
// ORG (a team organization), MEMBER (an account that is not yet a member of ORG).

import assert from "node:assert/strict";
import { createClient } from "@tursodatabase/api";

const { LATCHKEY_URL, ADMIN_TOKEN, ORG, MEMBER } = process.env;
const baseUrl = `${LATCHKEY_URL}/v1/`;
const turso = createClient({ org: ORG, token: ADMIN_TOKEN, baseUrl });
const as = (token) => createClient({ org: ORG, token, baseUrl });
const turso_error = (status) => (error) => {
  assert.equal(error.name, "TursoClientError", `expected a TursoClientError, got ${error}`);
  assert.equal(error.status, status, `expected status ${status}: ${error.message}`);
  assert.ok(error.message.length > 0, "the error carries a message");
  return true;
};

// API tokens: create, list, validate, revoke.
const created = await turso.apiTokens.create("compat-token");
assert.equal(created.name, "compat-token");
assert.match(created.id, /^[A-Za-z0-9_-]{22}$/, "ids are Turso's 22-character spelling");
assert.match(created.token, /^lk_live_[A-Za-z0-9]{36}$/);

let tokens = await turso.apiTokens.list();
const listed = tokens.find((t) => t.id === created.id);
assert.ok(listed, "the new token is listed");
assert.equal(listed.name, "compat-token");
assert.ok(tokens.every((t) => !("token" in t) && !("value" in t)), "a list never shows a secret");

await assert.rejects(turso.apiTokens.create("compat-token"), turso_error(409));

// The client validates its own bearer, whatever it is passed, and reports a token that never
// expires (exp -1) as invalid: its documented quirk.
const validation = await as(created.token).apiTokens.validate(created.token);
assert.deepEqual(validation, { valid: false, expiry: -1 });

const revoked = await turso.apiTokens.revoke("compat-token");
assert.deepEqual(revoked, { token: "compat-token" });
await assert.rejects(as(created.token).apiTokens.validate(created.token), turso_error(401));
tokens = await turso.apiTokens.list();
assert.ok(!tokens.some((t) => t.id === created.id), "a revoked token is no longer listed");
await assert.rejects(turso.apiTokens.revoke("compat-token"), turso_error(404));

// Organizations and members.
const orgs = await turso.organizations.list();
const org = orgs.find((o) => o.slug === ORG);
assert.ok(org, `organization ${ORG} is listed`);
assert.equal(org.type, "team");

const added = await turso.organizations.addMember(MEMBER, "member");
assert.deepEqual(added, { member: MEMBER, role: "member" });
await assert.rejects(turso.organizations.addMember(MEMBER, "member"), turso_error(409));
let members = await turso.organizations.members();
const member = members.find((m) => m.username === MEMBER);
assert.ok(member, "the new member is listed");
assert.equal(member.role, "member");
assert.equal(member.email, `${MEMBER}@example.com`);

const removed = await turso.organizations.removeMember(MEMBER);
assert.deepEqual(removed, { member: MEMBER });
members = await turso.organizations.members();
assert.ok(!members.some((m) => m.username === MEMBER), "the removed member is gone");
await assert.rejects(turso.organizations.removeMember(MEMBER), turso_error(404));

// Groups.
const group = await turso.groups.create("compat-group", "lhr");
assert.equal(group.name, "compat-group");
assert.equal((await turso.groups.get("compat-group")).name, "compat-group");
assert.ok((await turso.groups.list()).some((g) => g.name === "compat-group"));
assert.equal((await turso.groups.delete("compat-group")).name, "compat-group");
await assert.rejects(turso.groups.get("compat-group"), turso_error(404));

// Errors for a bad bearer, in Turso's shape.
await assert.rejects(as("lk_live_not-a-token").organizations.list(), turso_error(401));

console.log("turso client: every check passed");
