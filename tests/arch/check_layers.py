#!/usr/bin/env python3
"""check_layers: enforces tests/arch/layers.txt on a source tree.

Usage: check_layers.py ROOT LAYERS
Prints one line per violation and exits 1 if there is any; exits 0 and
prints a summary otherwise.  Only `#include "..."` lines are checked
(system headers use <...>).
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def load_rules(path):
    rules = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            words = line.split()
            if len(words) < 2:
                sys.exit(f'{path}:{n}: expected FOLDER PREFIX ALLOWED...')
            rules[words[0]] = (words[1], words[2:])
    return rules


def own_prefix(folder):
    """The include prefix of a folder's own headers: src/X/Y -> X/Y/."""
    parts = folder.split('/')
    return '/'.join(parts[1:]) + '/'


def check(root, rules):
    errors = []
    nfiles = 0
    for top in ('src', 'include'):
        for dirpath, dirs, files in os.walk(os.path.join(root, top)):
            dirs.sort()
            rel = os.path.relpath(dirpath, root)
            sources = [f for f in files if f.endswith(('.c', '.h'))]
            if not sources:
                continue
            if rel not in rules:
                errors.append(f'{rel}/: a folder with sources that '
                              'layers.txt does not name')
                continue
            prefix, allowed = rules[rel]
            mine = own_prefix(rel)
            for name in sorted(sources):
                nfiles += 1
                path = os.path.join(rel, name)
                if prefix != '-' and not name.startswith(prefix):
                    errors.append(f'{path}: does not start with the '
                                  f'folder prefix "{prefix}"')
                with open(os.path.join(root, path), errors='replace') as f:
                    for n, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if m is None:
                            continue
                        inc = m.group(1)
                        if inc.startswith(mine) and '/' not in \
                                inc[len(mine):]:
                            continue
                        if inc == 'server/vtokend.h' and \
                                rel != 'src/server':
                            errors.append(f'{path}:{n}: includes '
                                          f'"{inc}": only the assembler '
                                          'sees the daemon context')
                            continue
                        if not any(inc.startswith(a) for a in allowed):
                            errors.append(f'{path}:{n}: includes "{inc}", '
                                          f'which {rel}/ may not use')
    return errors, nfiles


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rules = load_rules(sys.argv[2])
    errors, nfiles = check(sys.argv[1], rules)
    for e in errors:
        print(e)
    if errors:
        print(f'check_layers: {len(errors)} violation(s) in {nfiles} files')
        return 1
    print(f'check_layers: {nfiles} files follow {len(rules)} folder rules')
    return 0


if __name__ == '__main__':
    sys.exit(main())
