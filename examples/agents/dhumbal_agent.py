#!/usr/bin/env python3
"""A Dhumbal agent for mechsim's external-agent protocol (docs/protocol.md), standard
library only. It reads the readable view that mechsim sends with every decision (card
names, hand value, the offered card) and plays a greedy strategy:

- call Jhyap when the hand is worth at most --call-at points (default 6), or at most the
  rule set's threshold once an opponent is down to two cards;
- discard the group (single, set or run) that sheds the most points, preferring more cards;
- pick up the offered card only when it is cheap (<= --pickup-at, default 2) or pairs
  with a card in hand; otherwise draw.

Run it from a scenario:

    [[seats]]
    policy = "external"
    command = ["python3", "dhumbal_agent.py", "--call-at", "6"]
    working_dir = "../../examples/agents"

Everything on stdout is protocol; diagnostics go to stderr (--verbose).
"""

import argparse
import json
import random
import sys

PROTOCOL = 1
RANKS = {"A": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6, "7": 7, "8": 8, "9": 9,
         "10": 10, "J": 11, "Q": 12, "K": 13}


def rank(card):
    """'10H' -> '10', 'QS' -> 'Q'."""
    return card[:-1]


class Agent:
    def __init__(self, call_at, pickup_at, verbose):
        self.call_at = call_at
        self.pickup_at = pickup_at
        self.verbose = verbose
        self.values = dict(RANKS)
        self.threshold = 10
        self.rng = random.Random(0)
        self.rounds = 0
        self.wins = 0

    def log(self, text):
        if self.verbose:
            print(f"dhumbal_agent: {text}", file=sys.stderr, flush=True)

    def hello(self, message):
        rules = message["game"].get("rules", {})
        self.threshold = rules.get("jhyap_threshold", 10)
        card_values = rules.get("card_values")
        if card_values and len(card_values) == 13:
            self.values = dict(zip(RANKS.keys(), card_values))
        self.rng = random.Random(message.get("seed", 0))
        self.log(f"seated as {message['seat']['label']} at table {message['seat']['table']}")
        return {"type": "hello", "name": "python-greedy", "protocol": PROTOCOL}

    def value(self, card):
        return self.values[rank(card)]

    def decide(self, message):
        view = message.get("view")
        if view is None:
            sys.exit('dhumbal_agent.py reads the readable view: set observation = "view" or "both"')
        legal = {entry["label"]: entry["id"] for entry in message["legal"]}
        phase = view["phase"]
        if phase == "call":
            low_opponent = any(o["hand_size"] <= 2 for o in view["opponents"])
            limit = self.threshold if low_opponent else min(self.call_at, self.threshold)
            choice = "jhyap" if view["hand_value"] <= limit else "no-jhyap"
        elif phase == "pick":
            offer = view.get("pickup_offer")
            ranks_in_hand = {rank(c) for c in view["hand"]}
            cheap = offer is not None and self.value(offer) <= self.pickup_at
            pairs = offer is not None and rank(offer) in ranks_in_hand
            choice = "pick-up" if (cheap or pairs) and "pick-up" in legal else "draw"
        else:
            def shed(label):
                cards = label[len("discard "):].split("+")
                return (sum(self.value(c) for c in cards), len(cards))
            discards = [label for label in legal if label.startswith("discard ")]
            choice = max(discards, key=shed)
        if choice not in legal:  # never expected; stay legal whatever happens
            choice = self.rng.choice(sorted(legal))
        return {"type": "action", "id": message["id"], "action": legal[choice]}

    def round_over(self, message):
        self.rounds += 1
        self.wins += bool(message["won"])
        self.log(f"round {message['round']}: won={message['won']} payoff={message['payoff']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--call-at", type=int, default=6, help="call Jhyap at or under this hand value")
    parser.add_argument("--pickup-at", type=int, default=2, help="pick up offered cards worth at most this")
    parser.add_argument("--verbose", action="store_true", help="log decisions to stderr")
    args = parser.parse_args()
    agent = Agent(args.call_at, args.pickup_at, args.verbose)
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        kind = message.get("type")
        if kind == "hello":
            answer = agent.hello(message)
        elif kind == "decide":
            answer = agent.decide(message)
        elif kind == "round_over":
            agent.round_over(message)
            continue
        elif kind == "shutdown":
            break
        else:
            agent.log(f"ignoring message of type {kind!r}")
            continue
        out.write(json.dumps(answer, separators=(",", ":")) + "\n")
        out.flush()
    agent.log(f"shutting down after {agent.rounds} rounds, {agent.wins} won")


if __name__ == "__main__":
    main()
