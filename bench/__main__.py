"""`python -m bench [options]`: the Telegram intake benchmark (see bench/intake.py), then the WeChat intake path
beside it with the same followers, think time and backends (bench/wechat.py; not at --saturation)."""

import argparse
import sys

from bench import wechat
from bench.intake import main

telegram = main()
chosen = argparse.ArgumentParser(add_help=False)
chosen.add_argument("--users", default="60")
chosen.add_argument("--think", default="2.0")
chosen.add_argument("--backends", default="sqlite,postgres")
chosen.add_argument("--saturation", action="store_true")
args, _ = chosen.parse_known_args()
if args.saturation:
    sys.exit(telegram)
followers = wechat.main(["--users", args.users, "--think", args.think, "--backends", args.backends])
sys.exit(telegram or followers)
