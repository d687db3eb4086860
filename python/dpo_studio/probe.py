"""probe/* on the torch engine: load a tuned model and its reference, generate with transformers'
generate (KV cache on) streaming each token as probe/didToken, score a response's implicit reward
per token, cancel generations in progress."""

import threading
from typing import Any

import torch

from .implicit_reward import implicit_reward
from .logps import prompt_ids, token_logps
from .token_text import token_texts

DEFAULTS = {"maxNewTokens": 64, "temperature": 0.0, "topK": 0, "topP": 1.0, "seed": 0, "stop": []}


class ProbeSession:
    def __init__(self, channel: Any):
        self.ch = channel
        self.models: dict = {}
        self.tok: Any = None
        self.cancelled: set = set()
        self.running: set = set()
        self.lock = threading.Lock()  # one forward at a time: the models are shared
        self.threads: list = []

    def handle(self, type_: str, id_: int, p: dict) -> None:
        try:
            if type_ == "probe/load":
                return self.ch.reply(id_, self.load(p["policyDir"], p.get("referenceDir")))
            if type_ == "probe/cancel":
                n = len(self.running)
                self.cancelled |= self.running
                return self.ch.reply(id_, {"cancelled": n})
            if type_ == "probe/score":
                return self.ch.reply(
                    id_, self.score(p["prompt"], p["chat"], p["response"], p["beta"], p.get("messages"), p.get("responseIds"))
                )
            if type_ == "probe/generate":
                t = threading.Thread(target=self._generate_reply, args=(id_, p), daemon=True)
                self.threads = [x for x in self.threads if x.is_alive()] + [t]
                t.start()
                return None
        except Exception as e:
            return self.ch.error(id_, str(e))
        return self.ch.error(id_, f"unknown probe request {type_}")

    def load(self, policy_dir: str, reference_dir: str | None = None) -> dict:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from .model_check import check_model_folder

        check_model_folder(policy_dir, "policyDir")
        if reference_dir:
            check_model_folder(reference_dir, "referenceDir")
        # Built aside, then swapped in under the lock: load runs in its own thread while generations
        # and scores may still use the models loaded before.
        tok = AutoTokenizer.from_pretrained(policy_dir)
        models = {"policy": AutoModelForCausalLM.from_pretrained(policy_dir, dtype=torch.float32).eval()}
        if reference_dir:
            models["reference"] = AutoModelForCausalLM.from_pretrained(reference_dir, dtype=torch.float32).eval()
        with self.lock:
            self.tok, self.models = tok, models
        m = models["policy"]
        return {
            "architecture": (m.config.architectures or [type(m).__name__])[0],
            "parameters": sum(t.numel() for t in m.parameters()),
            "hasReference": "reference" in models,
            "chatTemplate": bool(getattr(tok, "chat_template", None)),
        }

    def _need(self, which: str) -> Any:
        if which not in self.models:
            raise ValueError(f"no {'model' if which == 'policy' else 'reference model'} loaded: send probe/load first")
        return self.models[which]

    def _prompt(self, prompt: Any, chat: bool, messages: list[dict] | None = None) -> list:
        # With chat, messages (a whole conversation, as dpo serve sends it) replace the one user turn.
        return prompt_ids(self.tok, (messages or [{"role": "user", "content": prompt}]) if chat else prompt, chat)

    def _generate_reply(self, id_: int, p: dict) -> None:
        try:
            self.ch.reply(id_, self.generate(id_, p["which"], p["prompt"], p["chat"], p["sampling"], p.get("messages")))
        except Exception as e:
            self.ch.error(id_, str(e))

    def generate(self, id_: int, which: str, prompt: Any, chat: bool, sampling: dict, messages: list[dict] | None = None) -> dict:
        from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList
        from transformers.generation.streamers import BaseStreamer

        model = self._need(which)
        s = {**DEFAULTS, **sampling}
        ids = self._prompt(prompt, chat, messages)
        session, tok = self, self.tok
        last_logps = {}
        out_ids: list[int] = []
        texts: list[str] = []

        class Keep(LogitsProcessor):  # the distribution each new token is drawn from
            def __call__(self, input_ids: Any, scores: Any):
                last_logps["v"] = torch.log_softmax(scores.float(), -1)
                return scores

        class Stream(BaseStreamer):
            first = True

            def put(self, value: Any) -> None:
                if self.first:  # generate() first hands over the prompt
                    self.first = False
                    return
                t = int(value.reshape(-1)[0])
                lp = float(last_logps["v"][0, t]) if "v" in last_logps else 0.0
                out_ids.append(t)
                # Special tokens (EOS) are not text, as on the embedded engine; a trailing U+FFFD may be a
                # multi-byte character still incomplete: streamed once it settles, so pieces only append.
                settled, sent = tok.decode(out_ids, skip_special_tokens=True).rstrip("\ufffd"), "".join(texts)
                text = settled[len(sent) :] if settled.startswith(sent) else ""
                texts.append(text)
                session.ch.event("probe/didToken", {"requestId": id_, "which": which, "text": text, "logprob": lp if lp > -1e30 else -1e30})

            def end(self) -> None:
                pass

        class Cancel(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kw):
                return torch.full((input_ids.shape[0],), id_ in session.cancelled, dtype=torch.bool)

        torch.manual_seed(int(s["seed"]))
        greedy = s["temperature"] == 0
        kwargs = dict(
            max_new_tokens=int(s["maxNewTokens"]),
            do_sample=not greedy,
            use_cache=True,
            pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
            eos_token_id=tok.eos_token_id,
        )
        if not greedy:
            kwargs.update(temperature=float(s["temperature"]), top_k=int(s["topK"]) or None, top_p=float(s["topP"]))
        if s["stop"]:
            kwargs.update(stop_strings=list(s["stop"]), tokenizer=tok)
        self.running.add(id_)
        try:
            with self.lock:
                model.generate(
                    torch.tensor([ids]),
                    attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                    streamer=Stream(),
                    logits_processor=LogitsProcessorList([Keep()]),
                    stopping_criteria=StoppingCriteriaList([Cancel()]),
                    **kwargs,
                )
            text = tok.decode(out_ids, skip_special_tokens=True)
            if id_ in self.cancelled:
                reason = "cancelled"
            elif out_ids and out_ids[-1] == tok.eos_token_id:
                reason = "eos"
            elif any(x in text for x in s["stop"]):
                reason = "stop"
                text = text[: min(text.index(x) for x in s["stop"] if x in text)]
            else:
                reason = "length"
            text = text.replace(tok.eos_token or "\0", "") if reason == "eos" else text
            # ids as sampled, EOS included: what probe/score's responseIds take
            return {"text": text, "tokens": len(out_ids), "reason": reason, "promptTokens": len(ids), "ids": list(out_ids)}
        finally:
            self.running.discard(id_)
            self.cancelled.discard(id_)

    def score(
        self, prompt: Any, chat: bool, response: str, beta: float, messages: list[dict] | None = None, response_ids: list[int] | None = None
    ) -> dict:
        """With chat, messages replace the one user turn, as in generate; response_ids (generate's ids)
        are scored as they are, since decoding then encoding again need not give the sampled tokens."""
        policy, reference = self._need("policy"), self._need("reference")
        p = self._prompt(prompt, chat, messages)
        r = list(response_ids) if response_ids is not None else self.tok.encode(response, add_special_tokens=False)
        vocab = min(m.get_input_embeddings().num_embeddings for m in (policy, reference))
        if any(t >= vocab for t in r):
            raise ValueError(f"probe/score: responseIds holds {max(r)}, outside the models' vocabulary of {vocab}")
        if not r:
            return {"tokens": [], "policyLogp": 0.0, "referenceLogp": 0.0, "reward": 0.0}
        with self.lock:
            pl = token_logps(policy, p + r, len(p)).tolist()
            rl = token_logps(reference, p + r, len(p)).tolist()
        # Each token's own text by the shared rule: a piece of a multi-byte character names the character.
        texts = token_texts([self.tok.decode(r[: i + 1]) for i in range(len(r))], [self.tok.decode([t]) for t in r])
        tokens = [
            {**texts[i], "policyLogp": pl[i], "referenceLogp": rl[i], "reward": implicit_reward(pl[i], rl[i], beta)} for i in range(len(r))
        ]
        return {"tokens": tokens, "policyLogp": sum(pl), "referenceLogp": sum(rl), "reward": implicit_reward(sum(pl), sum(rl), beta)}
