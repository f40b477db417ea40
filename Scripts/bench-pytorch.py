#!/usr/bin/env python3
"""The PyTorch side of `metarec-benchmark models`: the same shapes, measured the same way.

A MeLU-sized model (Lee et al., KDD 2019): 8 embedded fields of 32 (3 user fields, 4 item
fields and the item id) -> 256 -> 64 -> 64 -> 1 with ReLU, squared error. A meta-step is the
meta-gradient of 32 tasks, each adapted by 5 plain gradient steps (rate 0.02) of the decision
layers on 20 support ratings and evaluated on 10 query ratings; second order keeps the graph of
the inner steps (create_graph=True), first order drops it. Then one new user: adapt 5 steps on 20
ratings and score 10,000 items with a top 10. Two ways of running the 32 tasks: a Python loop
(how MAML is usually written in PyTorch) and torch.func.vmap over the tasks (batched).

Not part of the product: a comparison, run with the PyTorch CPU wheel
(`pip install torch`, CPU build). Usage: python3 Scripts/bench-pytorch.py [--seconds S]
"""

import argparse
import statistics
import time

import torch
from torch.func import functional_call, grad, vmap

USER_FIELDS, ITEM_FIELDS, WIDTH, ITEMS = 3, 4, 32, 10_000
VOCABULARY = 50
TASKS, STEPS, SUPPORT, QUERY, RATE = 32, 5, 20, 10, 0.02


class MeLU(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.user = torch.nn.ModuleList(torch.nn.Embedding(VOCABULARY, WIDTH) for _ in range(USER_FIELDS))
        self.item = torch.nn.ModuleList(torch.nn.Embedding(VOCABULARY, WIDTH) for _ in range(ITEM_FIELDS))
        self.item_id = torch.nn.Embedding(ITEMS, WIDTH)
        self.decision = torch.nn.Sequential(
            torch.nn.Linear(256, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1)
        )

    def represent(self, user_fields, item_fields, item_ids):
        users = [embedding(user_fields[:, i]) for i, embedding in enumerate(self.user)]
        items = [embedding(item_fields[:, i]) for i, embedding in enumerate(self.item)]
        return torch.cat(users + items + [self.item_id(item_ids)], dim=1)


def decide(weights, x):
    h = torch.relu(x @ weights[0].T + weights[1])
    h = torch.relu(h @ weights[2].T + weights[3])
    return (h @ weights[4].T + weights[5]).squeeze(-1)


def make_task(generator):
    rows = SUPPORT + QUERY
    user = torch.randint(0, VOCABULARY, (1, USER_FIELDS), generator=generator).expand(rows, -1)
    return (
        user,
        torch.randint(0, VOCABULARY, (rows, ITEM_FIELDS), generator=generator),
        torch.randint(0, ITEMS, (rows,), generator=generator),
        torch.randint(1, 6, (rows,), generator=generator).float(),
    )


def adapt(weights, x, y, create_graph):
    for _ in range(STEPS):
        loss = ((decide(weights, x) - y) ** 2).mean()
        grads = torch.autograd.grad(loss, weights, create_graph=create_graph, retain_graph=True)
        weights = [w - RATE * g for w, g in zip(weights, grads)]
    return weights


def meta_gradient_loop(model, tasks, second_order):
    params = list(model.parameters())
    decision = list(model.decision.parameters())
    total = 0
    for user, item, ids, y in tasks:
        x = model.represent(user, item, ids)
        # First order: the inner gradients carry no graph, so d(fast)/d(start) is the identity.
        fast = adapt(decision, x[:SUPPORT], y[:SUPPORT], create_graph=second_order)
        total = total + ((decide(fast, x[SUPPORT:]) - y[SUPPORT:]) ** 2).mean()
    return torch.autograd.grad(total / len(tasks), params, allow_unused=True)


def meta_gradient_vmap(model, stacked, second_order):
    """The 32 tasks as one batched computation (torch.func): grad of the query loss after an
    inner loop written with torch.func.grad, vmapped over the tasks."""
    names = [name for name, _ in model.decision.named_parameters()]

    def inner_loss(weights, x, y):
        return ((decide(weights, x) - y) ** 2).mean()

    inner_grad = grad(inner_loss)

    def query_loss(weights, x, y):
        fast = list(weights)
        for _ in range(STEPS):
            g = inner_grad(fast, x[:SUPPORT], y[:SUPPORT])
            if not second_order:
                g = [t.detach() for t in g]
            fast = [w - RATE * t for w, t in zip(fast, g)]
        return inner_loss(fast, x[SUPPORT:], y[SUPPORT:])

    user, item, ids, y = stacked
    x = model.represent(user.reshape(-1, USER_FIELDS), item.reshape(-1, ITEM_FIELDS), ids.reshape(-1))
    x = x.reshape(TASKS, SUPPORT + QUERY, -1)
    weights = [dict(model.decision.named_parameters())[name] for name in names]
    losses = vmap(query_loss, in_dims=(None, 0, 0))(weights, x, y)
    return torch.autograd.grad(losses.mean(), list(model.parameters()), allow_unused=True)


def median_seconds(call, seconds):
    call()  # warm-up
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 3:
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def percentiles(call, count):
    call()
    times = []
    for _ in range(count):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds of repeats per figure")
    arguments = parser.parse_args()
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = MeLU()
    tasks = [make_task(generator) for _ in range(TASKS)]
    stacked = tuple(torch.stack([task[i] for task in tasks]) for i in range(4))
    print(f"== PyTorch {torch.__version__} (CPU), the shape of metarec-benchmark models")
    for label, second in [("second order", True), ("first order", False)]:
        for threads in [1, 2]:
            torch.set_num_threads(threads)
            for way, call in [
                ("loop", lambda: meta_gradient_loop(model, tasks, second)),
                ("vmap", lambda: meta_gradient_vmap(model, stacked, second)),
            ]:
                seconds = median_seconds(call, arguments.seconds)
                print(
                    f"meta-step, {label}, {way}, {TASKS} tasks x {STEPS} steps x ({SUPPORT} support + {QUERY} query), "
                    f"{threads} thread(s): {seconds * 1e3:.2f} ms = {TASKS / seconds:.0f} tasks/s"
                )
    torch.set_num_threads(2)
    all_items = torch.arange(ITEMS)
    item_fields = torch.randint(0, VOCABULARY, (ITEMS, ITEM_FIELDS), generator=generator)
    with torch.no_grad():
        item_block = torch.cat(
            [embedding(item_fields[:, i]) for i, embedding in enumerate(model.item)] + [model.item_id(all_items)], dim=1
        )
    decision = [w.detach().requires_grad_() for w in model.decision.parameters()]

    def adapt_and_rank():
        user, item, ids, y = tasks[0]
        with torch.no_grad():
            x = model.represent(user, item, ids)[:SUPPORT]
        fast = adapt(decision, x, y[:SUPPORT], create_graph=False)
        with torch.no_grad():
            user_block = x[:1, : USER_FIELDS * WIDTH].expand(ITEMS, -1)
            scores = decide(fast, torch.cat([user_block, item_block], dim=1))
            scores[ids[:SUPPORT]] = float("-inf")
            return torch.topk(scores, 10).indices

    p50, p99 = percentiles(adapt_and_rank, 200)
    print(
        f"adapt ({STEPS} steps on {SUPPORT} ratings) + score {ITEMS} items + top 10: "
        f"p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms (2 threads)"
    )


if __name__ == "__main__":
    main()
