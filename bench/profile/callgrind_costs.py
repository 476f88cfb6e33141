#!/usr/bin/env python3
"""Per-request figures from a callgrind dump: user-space instructions, jemalloc
allocation and free calls (with their callers), and the functions with the most
self cost. Usage: callgrind_costs.py DUMP REQUESTS [TOP]"""
import collections
import re
import sys

path, nreq = sys.argv[1], int(sys.argv[2])
top = int(sys.argv[3]) if len(sys.argv) > 3 else 25
ALLOC = r"rjem_(malloc|mallocx|calloc|realloc|rallocx|posix_memalign|aligned_alloc)$"
FREE = r"rjem_(free|sdallocx|dallocx)$"
names, fn, cfn = {}, None, None
calls, callers, selfcost = collections.Counter(), collections.Counter(), collections.Counter()
after_calls = False
with open(path) as f:
    for line in f:
        line = line.rstrip("\n")
        m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
        if m:
            kind, id_, name = m.groups()
            if name:
                names[id_] = name
            if kind == "fn":
                fn = names.get(id_, id_)
            else:
                cfn = names.get(id_, id_)
            continue
        if line.startswith("calls="):
            n = int(line.split("=")[1].split()[0])
            calls[cfn] += n
            if re.search(ALLOC, cfn or ""):
                callers[fn] += n
            after_calls = True
            continue
        if line and (line[0].isdigit() or line[0] in "+-*"):
            parts = line.split()
            if len(parts) >= 2:
                if after_calls:
                    after_calls = False  # the inclusive cost of a call, not self cost
                else:
                    try:
                        selfcost[fn] += int(parts[1])
                    except ValueError:
                        pass
total = sum(selfcost.values())
alloc = sum(v for k, v in calls.items() if re.search(ALLOC, k or ""))
free = sum(v for k, v in calls.items() if re.search(FREE, k or ""))
print(f"requests {nreq}: {total / nreq:,.0f} instructions, {alloc / nreq:.2f} allocations, "
      f"{free / nreq:.2f} frees per request")
print("\nallocations per request, by caller:")
for k, v in callers.most_common(10):
    print(f"  {v / nreq:6.2f}  {k[:140]}")
print("\nself cost:")
for k, v in selfcost.most_common(top):
    print(f"  {100 * v / total:5.1f}%  {v / nreq:7.0f} Ir/req  {k[:140]}")
