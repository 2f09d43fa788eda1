//! Rights: what a role allows in an organization, and what a token may do there.

use crate::role::Role;

bitflags::bitflags! {
    /// Each right is one kind of action. `*_ANY` rights reach other members' tokens.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Rights: u32 {
        const TOKENS_READ = 1 << 0;
        const TOKENS_READ_ANY = 1 << 1;
        const TOKENS_MINT = 1 << 2;
        const TOKENS_REVOKE = 1 << 3;
        const TOKENS_REVOKE_ANY = 1 << 4;
        const TOKENS_ROTATE = 1 << 5;
        const MEMBERS_READ = 1 << 6;
        const MEMBERS_MANAGE = 1 << 7;
        const ADMINS_MANAGE = 1 << 8;
        const GROUPS_READ = 1 << 9;
        const GROUPS_MANAGE = 1 << 10;
        const ORG_READ = 1 << 11;
        const ORG_MANAGE = 1 << 12;
        const AUDIT_READ = 1 << 13;
        const WEBHOOKS_READ = 1 << 14;
        const WEBHOOKS_WRITE = 1 << 15;
        /// The platform's own write operations (Turso's `db:*`, `group:*`): latchkey only
        /// stores them, but they make a token a writing one.
        const PLATFORM_WRITE = 1 << 16;
        /// Creating and deleting accounts: the operator's root account only, never a role.
        const ACCOUNTS_MANAGE = 1 << 17;

        /// Everything the platform scope `read` grants.
        const READ = Self::TOKENS_READ.bits() | Self::TOKENS_READ_ANY.bits()
            | Self::MEMBERS_READ.bits() | Self::GROUPS_READ.bits() | Self::ORG_READ.bits()
            | Self::AUDIT_READ.bits() | Self::WEBHOOKS_READ.bits();
    }
}

impl Rights {
    /// The rights that change something.
    pub fn writes() -> Rights {
        Rights::all().difference(Rights::READ)
    }

    pub fn is_read_only(self) -> bool {
        !self.intersects(Self::writes())
    }
}

impl Role {
    /// What the role allows within its organization. Each role has all rights of the one below.
    pub fn rights(self) -> Rights {
        let viewer =
            Rights::TOKENS_READ | Rights::MEMBERS_READ | Rights::GROUPS_READ | Rights::ORG_READ;
        let member = viewer
            | Rights::TOKENS_MINT
            | Rights::TOKENS_REVOKE
            | Rights::TOKENS_ROTATE
            | Rights::PLATFORM_WRITE;
        let admin = member
            | Rights::TOKENS_READ_ANY
            | Rights::TOKENS_REVOKE_ANY
            | Rights::MEMBERS_MANAGE
            | Rights::GROUPS_MANAGE
            | Rights::AUDIT_READ
            | Rights::WEBHOOKS_READ
            | Rights::WEBHOOKS_WRITE;
        let owner = admin | Rights::ADMINS_MANAGE | Rights::ORG_MANAGE;
        match self {
            Role::Viewer => viewer,
            Role::Member => member,
            Role::Admin => admin,
            Role::Owner => owner,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_nest() {
        let roles = [Role::Viewer, Role::Member, Role::Admin, Role::Owner];
        for pair in roles.windows(2) {
            assert!(pair[1].rights().contains(pair[0].rights()));
            assert_ne!(pair[1].rights(), pair[0].rights());
        }
        assert!(Role::Viewer.rights().is_read_only());
        assert!(!Role::Member.rights().is_read_only());
    }
}
