"""cfn-lint with a deeper Python recursion limit. SAM turns a state machine's definition
into one `Fn::Join` of its lines, and cfn-lint validates that list recursively: the deploy
state machine's ~1,100 lines exceed Python's default limit of 1,000 frames (E1022,
"maximum recursion depth exceeded"), which says nothing about the template.

Usage: python tools/lint/cfn_lint.py TEMPLATE...
"""

import sys

from cfnlint.runner import main

if __name__ == "__main__":
    sys.setrecursionlimit(20_000)
    main()
