"""Loads a seccomp allow-list the way systemd's SystemCallFilter= does, then execs a command.

usage: seccomp-exec.py <syscall-list-file> <kill|errno:N> <program> [args...]

The list file holds one syscall name per line. Names this kernel's libseccomp does not know are
skipped, as systemd skips them. Used by test/deploy/systemd-sandbox.test.ts.
"""
import errno
import os
import sys

import seccomp


def main() -> None:
    names_file, action, program, *args = sys.argv[1:]
    if action == "kill":
        default = seccomp.KILL_PROCESS
    elif action.startswith("errno:"):
        default = seccomp.ERRNO(int(action.split(":", 1)[1]))
    else:
        raise SystemExit(f"bad default action {action!r}")
    rules = seccomp.SyscallFilter(defaction=default)
    with open(names_file, encoding="ascii") as handle:
        for name in handle.read().split():
            try:
                rules.add_rule(seccomp.ALLOW, name)
            except (RuntimeError, ValueError, OSError):
                # Unknown on this architecture or libseccomp version: systemd skips it too.
                pass
    rules.load()
    os.execv(program, [program, *args])


if __name__ == "__main__":
    main()
