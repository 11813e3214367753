"""`make token PERSON=alice ORG=demo ROLES=employee,program_admin`: a development token for anyone,
signed with the secret `make run` uses (HS256; the services accept it only in development mode).

Prints the token alone, so `export TOKEN=$(make -s token PERSON=bob)` works.
"""

from __future__ import annotations

import argparse
import sys

from run_platform import dev_secret
from servicekit.auth import Role, issue_dev_token

KNOWN_ROLES = [role.value for role in Role]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--person", default="alice", help="the employee id (the token's sub)")
    parser.add_argument("--org", default="demo", help="the tenant (the token's org)")
    parser.add_argument("--roles", default="employee", help="comma-separated: " + ", ".join(KNOWN_ROLES))
    parser.add_argument("--hours", type=float, default=12, help="how long the token is valid")
    args = parser.parse_args(argv)
    roles = [role.strip() for role in args.roles.split(",") if role.strip()]
    unknown = sorted(set(roles) - set(KNOWN_ROLES))
    if not roles or unknown:
        print(f"error: roles must be some of {', '.join(KNOWN_ROLES)} (got {args.roles!r})", file=sys.stderr)
        return 2
    ttl = int(args.hours * 3600)
    print(issue_dev_token(dev_secret(), sub=args.person, org=args.org, roles=roles, ttl_seconds=ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
