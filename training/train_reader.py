"""Fine-tune the reader network on the examples of build_reader_data.py, on the CPU.

Each example is one question and one chunk; the loss is a sigmoid per
sentence ("holds the answer", mean of its word pieces' first logit) plus,
where the chunk holds the answer, softmax cross-entropy for the answer's
first and last word piece. The embeddings and the lower layers stay frozen
(they already read English; freezing them halves the backward pass). A
checkpoint is written every ``--save-every`` steps and a run resumes from
the last one. Fixed seed; the log is ``OUT/train.log``.

    python training/train_reader.py --data build/reader-data --out build/reader-run
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reader_network import from_packaged_cross_encoder  # noqa: E402

from qa.answer.answer_model import Encoded, encode, load_tokenizer  # noqa: E402
from qa.answer.crossencoder import packaged_model_dir  # noqa: E402


def load_examples(path: Path, limit: int, negative_share: float, seed: int) -> list[dict]:
    """Positives and retrieved negatives, shuffled; about ``negative_share`` negatives."""
    rng = random.Random(seed)
    rows = [json.loads(line) for line in path.open()]
    rows = [r for r in rows if r["answer"] is not None or rng.random() < negative_share * 2]
    rng.shuffle(rows)
    return rows[:limit] if limit else rows


def featurise(tokenizer, row: dict) -> tuple[Encoded, list[int], tuple[int, int] | None]:
    enc = encode(tokenizer, row["question"], row["title"], row["text"], row["sentences"])
    span = None
    if row["answer"] is not None:
        a_start, a_end = row["answer"]
        starts = [i for i, (s, e) in enumerate(enc.offsets) if e > s and s <= a_start < e]
        ends = [i for i, (s, e) in enumerate(enc.offsets) if e > s and s < a_end <= e]
        if starts and ends and starts[0] <= ends[-1]:
            span = (starts[0], ends[-1])
    return enc, row["labels"], span


def batches(items: list, size: int, seed: int) -> list[list]:
    """Batches of similar length (less padding), in a shuffled order."""
    rng = random.Random(seed)
    pool = 50 * size
    out = []
    for i in range(0, len(items), pool):
        block = sorted(items[i : i + pool], key=lambda x: len(x[0].ids))
        out.extend(block[j : j + size] for j in range(0, len(block), size))
    rng.shuffle(out)
    return out


def tensors(batch: list) -> dict[str, torch.Tensor]:
    width = max(len(e.ids) for e, _, _ in batch)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    passage = torch.zeros_like(ids, dtype=torch.bool)
    for row, (e, _, _) in enumerate(batch):
        n = len(e.ids)
        ids[row, :n] = torch.tensor(e.ids)
        types[row, :n] = torch.tensor(e.type_ids)
        mask[row, :n] = 1
        passage[row, e.passage_start : n - 1] = True
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "passage": passage}


def losses(net, batch: list) -> tuple[torch.Tensor, float, float]:
    t = tensors(batch)
    logits = net(t["input_ids"], t["attention_mask"], t["token_type_ids"])
    sent_logits, sent_labels = [], []
    for row, (e, labels, _) in enumerate(batch):
        for (a, b), label in zip(e.sentence_tokens, labels):
            if b > a:
                sent_logits.append(logits[row, a:b, 0].mean())
                sent_labels.append(float(label))
    sentence = F.binary_cross_entropy_with_logits(
        torch.stack(sent_logits), torch.tensor(sent_labels)
    )
    rows = [i for i, (_, _, span) in enumerate(batch) if span is not None]
    span_loss = torch.zeros(())
    if rows:
        masked = logits[rows, :, 1:].masked_fill(~t["passage"][rows].unsqueeze(-1), -1e4)
        starts = torch.tensor([batch[i][2][0] for i in rows])
        ends = torch.tensor([batch[i][2][1] for i in rows])
        span_loss = (
            F.cross_entropy(masked[:, :, 0], starts) + F.cross_entropy(masked[:, :, 1], ends)
        ) / 2
    return sentence + 0.5 * span_loss, float(sentence), float(span_loss)


@torch.no_grad()
def validate(net, items: list) -> dict[str, float]:
    """Sentence choice and span match on held-out articles' chunks."""
    net.eval()
    top1 = n_pos = 0
    neg_best: list[float] = []
    pos_best: list[float] = []
    span_hits = 0
    for batch in [items[i : i + 32] for i in range(0, len(items), 32)]:
        t = tensors(batch)
        logits = net(t["input_ids"], t["attention_mask"], t["token_type_ids"])
        for row, (e, labels, span) in enumerate(batch):
            scores = [
                float(logits[row, a:b, 0].mean()) if b > a else -30.0 for a, b in e.sentence_tokens
            ]
            best = int(np.argmax(scores))
            if any(labels):
                n_pos += 1
                top1 += labels[best]
                pos_best.append(max(scores))
                if span is not None:
                    p = t["passage"][row]
                    s = logits[row, :, 1].masked_fill(~p, -1e4)
                    en = logits[row, :, 2].masked_fill(~p, -1e4)
                    i = int(s.argmax())
                    j = i + int(en[i : i + 30].argmax())
                    span_hits += int((i, j) == span)
            else:
                neg_best.append(max(scores))
    net.train()
    return {
        "sentence_top1": top1 / max(n_pos, 1),
        "span_exact": span_hits / max(n_pos, 1),
        "median_best_logit_answering": float(np.median(pos_best)) if pos_best else 0.0,
        "median_best_logit_negative": float(np.median(neg_best)) if neg_best else 0.0,
        "negative_best_above_0": float(np.mean(np.array(neg_best) > 0)) if neg_best else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "build" / "reader-data")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "reader-run")
    parser.add_argument("--examples", type=int, default=30000)
    parser.add_argument("--negative-share", type=float, default=0.35)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=4e-5)
    parser.add_argument("--frozen-layers", type=int, default=4)
    parser.add_argument("--save-every", type=int, default=100)
    parser.add_argument("--validation", type=int, default=600)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    log = (args.out / "train.log").open("a")

    def say(message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {message}"
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()

    model_dir = packaged_model_dir()
    tokenizer = load_tokenizer(model_dir)
    rows = load_examples(args.data / "train.jsonl", args.examples, args.negative_share, args.seed)
    items = [featurise(tokenizer, r) for r in rows]
    val_rows = load_examples(args.data / "validation.jsonl", args.validation, 0.5, args.seed)
    val_items = [featurise(tokenizer, r) for r in val_rows]
    plan = batches(items, args.batch, args.seed)
    say(
        f"{len(items)} examples ({sum(1 for r in rows if r['answer'] is None)} negatives), "
        f"{len(plan)} steps of {args.batch}; validation {len(val_items)}"
    )

    net = from_packaged_cross_encoder(model_dir / "model.onnx")
    for p in net.encoder.embeddings.parameters():
        p.requires_grad = False
    for layer in net.encoder.encoder.layer[: args.frozen_layers]:
        for p in layer.parameters():
            p.requires_grad = False
    params = [
        {"params": [p for p in net.encoder.parameters() if p.requires_grad], "lr": args.lr},
        {"params": net.head.parameters(), "lr": args.lr * 20},
    ]
    optimizer = torch.optim.AdamW(params, weight_decay=0.01)
    warmup = max(1, len(plan) // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / warmup, max(0.0, (len(plan) - s) / (len(plan) - warmup))),
    )
    step = 0
    checkpoint = args.out / "checkpoint.pt"
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        net.load_state_dict(state["network"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        say(f"resumed at step {step}")
    net.train()
    started, running = time.time(), []
    while step < len(plan):
        loss, sentence, span = losses(net, plan[step])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        step += 1
        running.append((sentence, span))
        if step % 20 == 0:
            s, sp = np.mean(running, axis=0)
            rate = (time.time() - started) / max(len(running), 1)
            say(
                f"step {step}/{len(plan)} sentence loss {s:.3f} span loss {sp:.3f} "
                f"{rate:.2f} s/step"
            )
        if step % args.save_every == 0 or step == len(plan):
            torch.save(
                {
                    "network": net.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(),
                    "step": step,
                },
                args.out / "checkpoint.tmp",
            )
            (args.out / "checkpoint.tmp").replace(checkpoint)
        if step % (args.save_every * 10) == 0 or step == len(plan):
            say(f"validation at step {step}: {json.dumps(validate(net, val_items))}")
            running = []
            started = time.time()
    torch.save(net.state_dict(), args.out / "reader.pt")
    say("done")


if __name__ == "__main__":
    main()
