#!/usr/bin/env python3
"""Inclusive shares of the callees of FRAME in `perf script -F comm,ip,sym` output (bench/profile.sh):
   python3 bench/perf_children.py SAMPLES.txt FRAME [DEPTH]"""
import sys,re,collections
# parse perf script output: blocks separated by blank line; first line comm; then frames (leaf first)
root=sys.argv[2]; depth=int(sys.argv[3]) if len(sys.argv)>3 else 1
blocks=open(sys.argv[1]).read().split('\n\n')
tot=0; under=0; kids=collections.Counter()
def clean(s):
    s=s.strip()
    s=re.sub(r'^[0-9a-f]+\s+','',s)
    return s
for b in blocks:
    lines=[l for l in b.split('\n') if l.strip()]
    if len(lines)<2: continue
    tot+=1
    frames=[clean(l) for l in lines[1:]][::-1]  # root first
    idx=None
    for i,f in enumerate(frames):
        if root in f: idx=i
    if idx is None: continue
    under+=1
    seen=set()
    for d in range(1,depth+1):
        if idx+d<len(frames):
            k=('  '*(d-1))+frames[idx+d][:140]
            if k not in seen: kids[k]+=1; seen.add(k)
        else:
            if d==1: kids['<self>']+=1
print(f"total {tot} under {under} ({100*under/tot:.1f}%)")
for k,v in kids.most_common(45): print(f"{100*v/tot:5.1f}% {k}")
