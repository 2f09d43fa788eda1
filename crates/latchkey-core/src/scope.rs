//! Scopes: a configurable catalog, presets expanded at mint, and the rights each scope grants.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{CoreError, Issue};
use crate::id::truncate_for_message;
use crate::rights::Rights;

/// latchkey's own scopes and the rights each one grants. Fixed: the code enforces them.
const LATCHKEY_SCOPES: &[(&str, Rights)] = &[
    (
        "tokens:read",
        Rights::TOKENS_READ.union(Rights::TOKENS_READ_ANY),
    ),
    ("tokens:write", Rights::TOKENS_MINT),
    (
        "tokens:revoke",
        Rights::TOKENS_REVOKE.union(Rights::TOKENS_REVOKE_ANY),
    ),
    ("tokens:rotate", Rights::TOKENS_ROTATE),
    ("audit:read", Rights::AUDIT_READ),
    ("webhooks:read", Rights::WEBHOOKS_READ),
    ("webhooks:write", Rights::WEBHOOKS_WRITE),
];

/// Asks for no restriction at all: every right of the owner within the token's reach. It must
/// stand alone, so a token is never unrestricted by accident.
pub const UNRESTRICTED: &str = "*";

/// The platform scope that grants latchkey's read rights.
pub const READ_SCOPE: &str = "read";

/// Turso's platform scopes: stored and returned on verify for the platform to enforce.
const TURSO_SCOPES: &[&str] = &[
    READ_SCOPE,
    "db:create",
    "db:delete",
    "db:configure",
    "db:mint-token",
    "db:rotate-creds",
    "group:configure",
    "group:mint-token",
    "group:rotate-creds",
];

/// A scope known to the catalog.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Scope(String);

impl Scope {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The latchkey rights this scope grants. A platform scope other than `read` grants
    /// `PLATFORM_WRITE`: no right in latchkey, but it makes the token a writing one.
    pub fn rights(&self) -> Rights {
        if self.0 == READ_SCOPE {
            return Rights::READ;
        }
        LATCHKEY_SCOPES
            .iter()
            .find(|(name, _)| *name == self.0)
            .map_or(Rights::PLATFORM_WRITE, |(_, rights)| *rights)
    }

    /// Rebuilds a scope read back from the store, which only ever holds catalog scopes.
    pub fn from_stored(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A token's scopes: sorted, without duplicates. Empty means every right of the owner.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    pub fn new(mut scopes: Vec<Scope>) -> Self {
        scopes.sort();
        scopes.dedup();
        Self(scopes)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s.0 == scope)
    }

    /// What these scopes allow; every right when there are none.
    pub fn rights(&self) -> Rights {
        if self.0.is_empty() {
            return Rights::all();
        }
        self.0
            .iter()
            .fold(Rights::empty(), |acc, scope| acc | scope.rights())
    }

    /// True when every scope of `self` is also in `other` (an unscoped `other` holds them all).
    pub fn is_subset_of(&self, other: &Scopes) -> bool {
        if other.is_empty() {
            return true;
        }
        !self.is_empty() && self.0.iter().all(|s| other.0.contains(s))
    }

    /// Joined with spaces, as the store keeps them.
    pub fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(Scope::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Reads [`Self::to_stored`] back. A scope holds no white space at all (the catalog refuses
    /// it), so ASCII white space is all there is to split on.
    pub fn from_stored(raw: &str) -> Self {
        Self(
            raw.split_ascii_whitespace()
                .map(Scope::from_stored)
                .collect(),
        )
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|s| s.0.clone()).collect()
    }
}

/// The scopes this deployment knows, and its presets. Configuration, with a default.
#[derive(Clone, Debug)]
pub struct ScopeCatalog {
    scopes: Vec<String>,
    presets: BTreeMap<String, Vec<String>>,
}

impl Default for ScopeCatalog {
    fn default() -> Self {
        let mut scopes: Vec<String> = LATCHKEY_SCOPES
            .iter()
            .map(|(name, _)| (*name).to_owned())
            .collect();
        scopes.extend(TURSO_SCOPES.iter().map(|s| (*s).to_owned()));
        let presets = BTreeMap::from([
            ("read-only".to_owned(), vec![READ_SCOPE.to_owned()]),
            (
                "full-access".to_owned(),
                TURSO_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            ),
        ]);
        Self { scopes, presets }
    }
}

impl ScopeCatalog {
    /// The default catalog with the platform's own scopes and presets added. A preset may only
    /// expand to scopes of the catalog.
    pub fn with_platform(
        extra_scopes: impl IntoIterator<Item = String>,
        extra_presets: impl IntoIterator<Item = (String, Vec<String>)>,
    ) -> Result<Self, CoreError> {
        let mut catalog = Self::default();
        for scope in extra_scopes {
            if scope.is_empty() || scope.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(CoreError::invalid(
                    "scopes",
                    format!("'{scope}' is not a valid scope name"),
                ));
            }
            if !catalog.scopes.contains(&scope) {
                catalog.scopes.push(scope);
            }
        }
        for (name, expansion) in extra_presets {
            if let Some(unknown) = expansion.iter().find(|s| !catalog.scopes.contains(s)) {
                return Err(CoreError::invalid(
                    "presets",
                    format!("preset '{name}' names unknown scope '{unknown}'"),
                ));
            }
            catalog.presets.insert(name, expansion);
        }
        Ok(catalog)
    }

    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    pub fn presets(&self) -> &BTreeMap<String, Vec<String>> {
        &self.presets
    }

    /// Parses requested scopes, expanding presets; every unknown scope is reported at once.
    /// `["*"]` asks for an unrestricted token (empty scopes).
    pub fn parse<S: AsRef<str>>(&self, requested: &[S]) -> Result<Scopes, CoreError> {
        if requested.iter().any(|s| s.as_ref() == UNRESTRICTED) {
            return if requested.len() == 1 {
                Ok(Scopes::default())
            } else {
                Err(CoreError::invalid(
                    "scopes",
                    "'*' (every right of the owner) must stand alone",
                ))
            };
        }
        let mut out = Vec::new();
        let mut issues = Vec::new();
        for raw in requested {
            let raw = raw.as_ref();
            if let Some(expansion) = self.presets.get(raw) {
                out.extend(expansion.iter().cloned().map(Scope));
            } else if self.scopes.iter().any(|s| s == raw) {
                out.push(Scope(raw.to_owned()));
            } else {
                issues.push(Issue {
                    field: "scopes".to_owned(),
                    message: format!("unknown scope '{}'", truncate_for_message(raw)),
                });
            }
        }
        if issues.is_empty() {
            Ok(Scopes::new(out))
        } else {
            Err(CoreError::Invalid(issues))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_expand_and_unknown_scopes_are_all_reported() {
        let catalog = ScopeCatalog::default();
        let scopes = catalog.parse(&["full-access", "read"]).unwrap();
        assert_eq!(scopes.iter().count(), 9);
        assert!(!scopes.contains("full-access"));
        assert!(catalog.parse(&["*"]).unwrap().is_empty());
        assert!(catalog.parse(&["*", "read"]).is_err());
        let error = catalog.parse(&["nope", "tokens:read", "zap"]).unwrap_err();
        assert_eq!(error.issues().len(), 2);
    }

    #[test]
    fn rights_of_scopes() {
        let catalog = ScopeCatalog::default();
        assert_eq!(Scopes::default().rights(), Rights::all());
        let read = catalog.parse(&["read-only"]).unwrap();
        assert_eq!(read.rights(), Rights::READ);
        let db = catalog.parse(&["db:create"]).unwrap();
        assert_eq!(db.rights(), Rights::PLATFORM_WRITE);
        let tokens = catalog.parse(&["tokens:read"]).unwrap();
        assert!(tokens.is_subset_of(&catalog.parse(&["tokens:read", "tokens:write"]).unwrap()));
        assert!(!Scopes::default().is_subset_of(&tokens));
    }

    #[test]
    fn platform_catalog_checks_its_presets() {
        let catalog = ScopeCatalog::with_platform(
            ["billing:read".to_owned()],
            [("billing".to_owned(), vec!["billing:read".to_owned()])],
        )
        .unwrap();
        assert!(
            catalog
                .parse(&["billing"])
                .unwrap()
                .contains("billing:read")
        );
        assert!(
            ScopeCatalog::with_platform([], [("x".to_owned(), vec!["nope".to_owned()])]).is_err()
        );
    }
}
