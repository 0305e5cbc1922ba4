#!/usr/bin/python3
"""make_fleet.py - two hosts' results folders for the fleet view of test_compare.py, made
from the tables fixtures (scripts/tests/fixtures/full.json and full.go.json: invented
values from gen_fixture.cc, not measurements).
  hostA/  the fixture as it is
  hostB/  the same with G spawns 100x dearer and another kernel, so T1.create.g changes
          verdict between the hosts
Run: /usr/bin/python3 make_fleet.py (writes next to itself)."""
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(os.path.dirname(HERE)), 'fixtures')
STEM = '20261129T101524Z-0123abc'
SLOWER = {'spawn/g/': ('ns_per_spawn', 'real_time', 'cpu_time')}


def main():
    for host in ('hostA', 'hostB'):
        d = os.path.join(HERE, host)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        with open(os.path.join(SRC, 'full.json')) as f:
            doc = json.load(f)
        doc['context']['host'] = host
        if host == 'hostB':
            doc['context']['kernel'] = 'Linux 6.1.0-28 x86_64'
            for r in doc['benchmarks']:
                for prefix, keys in SLOWER.items():
                    if r['name'].startswith(prefix):
                        for k in keys:
                            if isinstance(r.get(k), (int, float)):
                                r[k] = r[k] * 100
        with open(os.path.join(d, STEM + '.json'), 'w') as f:
            json.dump(doc, f, indent=1)
            f.write('\n')
        shutil.copy(os.path.join(SRC, 'full.go.json'), os.path.join(d, STEM + '.go.json'))


if __name__ == '__main__':
    main()
