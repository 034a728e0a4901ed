#!/usr/bin/env python3
"""Validate /work/blind5/law_fresh_5.tsv against the Civil Code jsonl."""
import json, sys
from collections import Counter

TSV = '/work/blind5/law_fresh_5.tsv'
CODE = '/work/shared/civil-code/civil_code.jsonl'
ALLOWED = {'122', '12366', '110', '12333', '12345', '12348'}

arts = set()
with open(CODE, encoding='utf-8') as f:
    for line in f:
        arts.add(int(json.loads(line)['article']))

lines = open(TSV, encoding='utf-8').read().split('\n')
if lines and lines[-1] == '':
    lines = lines[:-1]
errors = []
if not lines[0].startswith('# law_fresh_5:'):
    errors.append('bad header')
body = lines[1:]
n_art = n_ptr = 0
ptr = Counter()
n_cites = Counter()
seen = Counter()
for i, line in enumerate(body, start=2):
    if not line.strip():
        errors.append(f'line {i}: blank line'); continue
    cols = line.split('\t')
    if len(cols) != 2:
        errors.append(f'line {i}: {len(cols)} columns'); continue
    q, a = cols
    if not q.strip():
        errors.append(f'line {i}: empty question')
    seen[q.strip()] += 1
    if a.startswith('pointer:'):
        p = a[len('pointer:'):]
        if p not in ALLOWED:
            errors.append(f'line {i}: pointer {p} not allowed')
        n_ptr += 1; ptr[p] += 1
    else:
        nums = a.split(',')
        if not 1 <= len(nums) <= 3:
            errors.append(f'line {i}: {len(nums)} articles')
        for x in nums:
            if not x.isdigit() or int(x) not in arts:
                errors.append(f'line {i}: article {x!r} not in code')
        if len(set(nums)) != len(nums):
            errors.append(f'line {i}: repeated article')
        n_art += 1; n_cites[len(nums)] += 1
dups = [q for q, c in seen.items() if c > 1]
if dups:
    errors.append(f'duplicate questions: {dups}')
if len(body) != 160: errors.append(f'{len(body)} rows, expected 160')
if n_art != 130: errors.append(f'{n_art} article rows, expected 130')
if n_ptr != 30: errors.append(f'{n_ptr} pointer rows, expected 30')

ascii_q = sum(1 for l in body if sum(ch.isascii() and ch.isalpha() for ch in l.split('\t')[0]) > 15)
print(f'rows after header: {len(body)}')
print(f'article answers:   {n_art}  (by number of articles: {dict(sorted(n_cites.items()))})')
print(f'pointer answers:   {n_ptr}  {dict(sorted(ptr.items()))}')
print(f'distinct questions: {len(seen)}; duplicates: {len(dups)}')
print(f'questions with substantial English: {ascii_q}')
print(f'questions under 10 characters: {sum(1 for l in body if len(l.split(chr(9))[0]) < 10)}')
if errors:
    print('ERRORS:'); [print('  ' + e) for e in errors]; sys.exit(1)
print('OK')
