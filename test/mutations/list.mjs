// Deliberate bugs for `npm run test:mutations` (scripts/mutations.mjs). Each entry is applied to the
// BUILT engine (out/src/engine/**/*.js), and the unit tests must then fail ("killed").
// An edit finds its code by a snippet of the compiled JavaScript, searched across every file under
// out/src/engine, never by path, so it survives code being split or moved between files; a snippet
// must occur exactly `count` times in all (default 1), or the check stops and names it.
// Fields: id (short, unique), why (the bug it stands for), edits: [{ find, replace, count? }].
// Tip: copy `find` from the compiled file (tsc keeps each statement's text, minus types).

/** @type {{ id: string; why: string; edits: { find: string; replace: string; count?: number }[] }[]} */
export default [
  // The eight of issue #21 (each left the earlier 162 unit tests green).
  {
    id: 'ref-cache-ignores-data',
    why: 'the reference-cache key leaves out the data files: a resumed run reuses stale log-probs',
    edits: [{ find: 'for (const f of inputs.dataFiles)', replace: 'for (const f of [])' }],
  },
  {
    id: 'clip-2x',
    why: 'gradients clipped to 2 × max_grad_norm',
    edits: [{ find: 'maxNorm / (norm + 1e-6)', replace: '(2 * maxNorm) / (norm + 1e-6)' }],
  },
  {
    id: 'rewards-without-beta',
    why: 'logged rewards are the log-ratio without β',
    edits: [
      {
        find: 'return tf.mul(tf.sub(policyLogps, referenceLogps), beta);',
        replace: 'return tf.sub(policyLogps, referenceLogps);',
      },
    ],
  },
  {
    id: 'loss-type-ignored',
    why: 'every loss_type runs the sigmoid loss',
    edits: [{ find: 'ipo: exports.ipoLoss, hinge: exports.hingeLoss', replace: 'ipo: exports.sigmoidLoss, hinge: exports.sigmoidLoss' }],
  },
  {
    id: 'label-smoothing-ignored',
    why: 'label_smoothing never reaches the loss (train and eval)',
    edits: [{ find: '{ beta: c.beta, labelSmoothing: c.label_smoothing }', replace: '{ beta: c.beta, labelSmoothing: 0 }' }],
  },
  {
    id: 'sft-term-ignored',
    why: 'the "sft" loss term (sft_weight, RPO) is dropped from the training loss',
    edits: [{ find: 'term = tf.mul(tf.ones([n]), nll);', replace: 'term = tf.zeros([n]);' }],
  },
  {
    id: 'loss-weight-dropped',
    why: 'loss_weights never reach the loss: every member of a loss list weighs 1',
    edits: [{ find: 'losses = tf.add(losses, tf.mul(term, weight));', replace: 'losses = tf.add(losses, term);' }],
  },
  {
    id: 'loss-list-first-member-only',
    why: 'a loss list trains its first member only',
    edits: [{ find: 'of (0, protocol_1.lossTerms)(c)) {', replace: 'of (0, protocol_1.lossTerms)(c).slice(0, 1)) {' }],
  },
  {
    id: 'bco-pair-is-sigmoid',
    why: 'loss_type "bco_pair" runs the sigmoid loss',
    edits: [{ find: 'bco_pair: exports.bcoPairLoss', replace: 'bco_pair: exports.sigmoidLoss' }],
  },
  {
    id: 'sft-term-per-pair-mean',
    why: 'the "sft" term averages each pair\'s chosen NLL per token, then over pairs, instead of TRL\'s mean over all chosen tokens of the batch',
    edits: [
      {
        find: 'term = tf.mul(tf.ones([n]), nll);',
        replace: 'term = tf.add(tf.mul(nll, 0), tf.neg(tf.div(tf.slice(sums, 0, n), tf.slice(counts, 0, n))));',
      },
    ],
  },
  {
    id: 'reference-free-ignored',
    why: 'reference_free is ignored: the reference is still used',
    edits: [{ find: "if (c.mode === 'sft' || c.reference_free ||", replace: "if (c.mode === 'sft' ||" }],
  },
  {
    id: 'ipo-summed-logps',
    why: 'IPO is fed summed instead of per-token mean policy log-probs',
    edits: [{ find: 'halves(tf.div(sums, counts), tf.div(refSums, counts))', replace: 'halves(sums, tf.div(refSums, counts))' }],
  },

  // Sign flips and dropped terms.
  {
    id: 'margin-reference-sign',
    why: 'the reference log-ratio enters the margin h with the wrong sign',
    edits: [{ find: 'tf.sub(l.referenceChosenLogps, l.referenceRejectedLogps)', replace: 'tf.sub(l.referenceRejectedLogps, l.referenceChosenLogps)' }],
  },
  {
    id: 'log-sigmoid-sign',
    why: 'log σ(x) = min(x,0) + log1p(e^−|x|) (sign of the correction)',
    edits: [{ find: 'tf.sub(tf.minimum(x, 0), tf.log1p(', replace: 'tf.add(tf.minimum(x, 0), tf.log1p(' }],
  },
  {
    id: 'ipo-target-one-over-beta',
    why: "IPO's target margin is 1/β instead of 1/(2β)",
    edits: [{ find: 'tf.sub(logRatioMargin(l), 1 / (2 * beta))', replace: 'tf.sub(logRatioMargin(l), 1 / beta)' }],
  },
  {
    id: 'hinge-without-beta',
    why: 'the hinge loss drops β: max(0, 1 − h)',
    edits: [{ find: 'tf.relu(tf.sub(1, tf.mul(logRatioMargin(l), beta)))', replace: 'tf.relu(tf.sub(1, logRatioMargin(l)))' }],
  },
  {
    id: 'chosen-reward-wrong-reference',
    why: "the chosen reward subtracts the rejected response's reference log-prob",
    edits: [
      {
        find: 'chosenRewards: implicitRewards(l.policyChosenLogps, l.referenceChosenLogps, params.beta)',
        replace: 'chosenRewards: implicitRewards(l.policyChosenLogps, l.referenceRejectedLogps, params.beta)',
      },
    ],
  },
  {
    id: 'eval-reads-train-reference',
    why: "evaluation looks up the train split's reference log-probs (train and eval share the objective, so the eval-only wiring is the reference lookup)",
    edits: [{ find: "await reference.forBatch(chunk, 'eval', batch, c.mode)", replace: "await reference.forBatch(chunk, 'train', batch, c.mode)" }],
  },
  {
    id: 'sft-nll-not-token-mean',
    why: 'the SFT / RPO NLL is the summed, not the token-mean, negative log-likelihood',
    edits: [
      { find: 'tf.neg(tf.div(tf.sum(tf.slice(sums, 0, n)), tf.sum(tf.slice(counts, 0, n))))', replace: 'tf.neg(tf.sum(tf.slice(sums, 0, n)))' },
      { find: 'tf.neg(tf.div(sums, tf.tensor1d(chosenTokens)))', replace: 'tf.neg(sums)' },
    ],
  },
  {
    id: 'accuracy-counts-ties',
    why: 'rewards/accuracies counts a tie as a win (TRL: strictly greater)',
    edits: [{ find: '(c > v.rejectedRewards[i] ? 1 : 0)', replace: '(c >= v.rejectedRewards[i] ? 1 : 0)' }],
  },

  // Off-by-ones in masks and truncation.
  {
    id: 'mask-off-by-one',
    why: 'the response mask is not shifted: a token is scored from its own position',
    edits: [{ find: 'index.push(b * T + t - 1);', replace: 'index.push(b * T + t);' }],
  },
  {
    id: 'truncation-room-off-by-one',
    why: 'a pair whose prompt leaves exactly one token of room is dropped',
    edits: [{ find: 'if (room < 1) {', replace: 'if (room <= 1) {' }],
  },
  {
    id: 'prompt-keeps-start',
    why: 'max_prompt_length keeps the start of the prompt instead of its end',
    edits: [{ find: 'promptIds.slice(promptIds.length - opts.maxPromptLength)', replace: 'promptIds.slice(0, opts.maxPromptLength)' }],
  },
  {
    id: 'pair-lines-zero-based',
    why: 'data lines are numbered from 0 (pairs.jsonl points at the wrong line)',
    edits: [{ find: '(value, file, i + 1, problems, options)', replace: '(value, file, i, problems, options)' }],
  },

  // Schedules and the optimizer.
  {
    id: 'warmup-starts-at-zero',
    why: 'warm-up counts from 0, so the first update has learning rate 0 (a wasted step)',
    edits: [{ find: '(s.peak * (step + 1)) / (s.warmupSteps + 1)', replace: '(s.peak * step) / s.warmupSteps' }],
  },
  {
    id: 'warmup-ratio-floor',
    why: 'warmup_ratio rounds down instead of up (transformers: ceil)',
    edits: [{ find: 'Math.ceil(totalSteps * warmupRatio)', replace: 'Math.floor(totalSteps * warmupRatio)' }],
  },
  {
    id: 'decay-off-by-one',
    why: 'the decay after warm-up starts one step late',
    edits: [
      {
        find: '(step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps)',
        replace: '(step - 1 - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps)',
      },
    ],
  },
  {
    id: 'cosine-half-period',
    why: 'cosine decay over a quarter period',
    edits: [{ find: '0.5 * (1 + Math.cos(Math.PI * progress))', replace: '0.5 * (1 + Math.cos(Math.PI * progress / 2))' }],
  },
  {
    id: 'learning-rate-ignored',
    why: 'learning_rate is ignored (the default peak is used)',
    edits: [{ find: 'peak: c.learning_rate,', replace: 'peak: 1e-6,' }],
  },
  {
    id: 'accumulation-scales-by-micro-batch',
    why: 'gradient accumulation averages per micro-batch and sums micro-batches (grad × accumulation steps)',
    edits: [
      {
        find: 'stepPairs.slice(i, i + c.batch_size), stepPairs.length, grads, dropoutSeed)',
        replace: 'stepPairs.slice(i, i + c.batch_size), c.batch_size, grads, dropoutSeed)',
      },
    ],
  },
  {
    id: 'loss-summed-not-averaged',
    why: 'the step gradient is of the summed, not the mean, per-pair loss (batch_size × too large)',
    edits: [{ find: 'return tf.div(tf.sum(o.losses), stepPairs);', replace: 'return tf.sum(o.losses);' }],
  },
  {
    id: 'accumulation-keeps-last',
    why: 'gradient accumulation keeps only the last micro-batch',
    edits: [{ find: 'tf.add(prev, gw)', replace: 'tf.add(tf.mul(prev, 0), gw)' }],
  },
  {
    id: 'grad-norm-logged-after-clip',
    why: 'grad_norm is logged after clipping',
    edits: [{ find: 'return { values, gradNorm };', replace: 'return { values, gradNorm: gradNorm * factor };' }],
  },
  {
    id: 'decay-everything',
    why: 'weight decay also on biases and LayerNorm gains',
    edits: [{ find: 'weightDecay > 0 && isDecayed(name)', replace: 'weightDecay > 0' }],
  },
  {
    id: 'adam-bias-correction-off-by-one',
    why: 'the second-moment bias correction uses t + 1',
    edits: [{ find: 'const bc2 = 1 - beta2 ** this.step;', replace: 'const bc2 = 1 - beta2 ** (this.step + 1);' }],
  },
  {
    id: 'adam-epsilon-inside-sqrt',
    why: 'ε added under the square root',
    edits: [
      { find: 'tf.add(tf.sqrt(tf.div(v, bc2)), epsilon)', replace: 'tf.sqrt(tf.add(tf.div(v, bc2), epsilon))' },
      { find: '(Math.sqrt(v[i] / bc2) + epsilon)', replace: 'Math.sqrt(v[i] / bc2 + epsilon)' },
    ],
  },
  {
    id: 'adam-beta2-ignored',
    why: 'adam_beta2 is ignored (0.999 always)',
    edits: [{ find: 'beta2: c.adam_beta2', replace: 'beta2: 0.999' }],
  },

  // Reference model, reference cache and eval.
  {
    id: 'reference-model-ignored',
    why: 'reference_model is ignored: the reference is the starting policy',
    edits: [{ find: 'const referenceDir = c.reference_model ?? c.model;', replace: 'const referenceDir = c.model;' }],
  },
  {
    id: 'reference-is-live-policy',
    why: 'the live reference forward pass runs the policy being trained',
    edits: [
      {
        find: "const ref = kto ? kto.reference : await s.reference.forBatch(pairs, 'train', batch, s.config.mode);",
        replace:
          "const ref = kto ? kto.reference : s.config.mode === 'sft' ? [] : Array.from(await (0, objective_1.policyForward)(s.policy, batch, pairs, s.config).sums.data());",
      },
    ],
  },
  {
    id: 'ref-cache-swaps-chosen-rejected',
    why: 'precomputed reference log-probs stored as [rejected, chosen]',
    edits: [{ find: 'out.set(p.line, [logps[j], logps[chunk.length + j]])', replace: 'out.set(p.line, [logps[chunk.length + j], logps[j]])' }],
  },
  {
    id: 'ref-cache-ignores-max-length',
    why: 'the reference-cache key leaves out max_length',
    edits: [{ find: 'max_length=${inputs.maxLength}', replace: 'max_length=' }],
  },
  {
    id: 'ref-cache-ignores-tokenizer',
    why: "the reference-cache key hashes the reference folder's tokenizer, not the one that tokenizes the data",
    edits: [{ find: 'tokenizerDir: c.model,', replace: 'tokenizerDir: this.referenceDir(),' }],
  },
  {
    id: 'eval-prefix-dropped',
    why: 'eval metrics lose their eval_ prefix',
    edits: [{ find: '[protocol_1.EVAL_PREFIX + k, x]', replace: '[k, x]' }],
  },

  // SimPO and ORPO (issue #27): each field and term that a bug could drop.
  {
    id: 'simpo-gamma-not-wired',
    why: 'simpo_gamma never reaches the SimPO loss (γ = 0)',
    edits: [{ find: 'simpoGamma: c.simpo_gamma', replace: 'simpoGamma: 0' }],
  },
  {
    id: 'simpo-loss-drops-gamma',
    why: 'the SimPO loss ignores its target margin γ',
    edits: [
      {
        find: 'tf.mul(tf.sub(l.policyChosenLogps, l.policyRejectedLogps), beta), simpoGamma)',
        replace: 'tf.mul(tf.sub(l.policyChosenLogps, l.policyRejectedLogps), beta), 0)',
      },
    ],
  },
  {
    id: 'orpo-drops-lambda',
    why: "ORPO's odds-ratio term loses its weight λ (beta)",
    edits: [{ find: 'tf.mul(tf.neg(logSigmoid(logOddsRatio(l))), beta)', replace: 'tf.neg(logSigmoid(logOddsRatio(l)))' }],
  },
  {
    id: 'cpo-alpha-dropped',
    why: "cpo_alpha (CPO's NLL term) never reaches the SimPO loss",
    edits: [{ find: 'tf.mul(shares, c.cpo_alpha)', replace: 'tf.mul(shares, 0)' }],
  },
  {
    id: 'orpo-nll-response-only',
    why: "ORPO's NLL covers the chosen response only, not the prompt as well",
    edits: [{ find: 'full.fill(1, r * batch.length, ', replace: 'full.fill(1, r * batch.length + p.promptIds.length, ' }],
  },
  {
    id: 'reference-free-loss-loads-reference',
    why: 'SimPO/ORPO still load (or cache) a reference model',
    edits: [{ find: "(c.mode === 'dpo' && (0, protocol_1.isReferenceFreeLoss)(c.loss_type))", replace: 'false' }],
  },
  {
    id: 'cpo-tokenization-no-bos',
    why: "SimPO/ORPO pairs miss the BOS TRL's CPO/ORPO trainers put before the prompt",
    edits: [{ find: 'if (bos !== undefined && ids[0] !== bos)', replace: 'if (false)' }],
  },
  // KTO (mode "kto", issue #27).
  {
    id: 'kto-desirable-weight-dropped',
    why: "desirable_weight never scales a desirable line's KTO loss",
    edits: [{ find: '(l ? p.desirableWeight : p.undesirableWeight)', replace: '(l ? 1 : p.undesirableWeight)' }],
  },
  {
    id: 'kto-undesirable-weight-dropped',
    why: "undesirable_weight never scales an undesirable line's KTO loss",
    edits: [{ find: '(l ? p.desirableWeight : p.undesirableWeight)', replace: '(l ? p.desirableWeight : 1)' }],
  },
  {
    id: 'kto-weights-not-wired',
    why: "the run config's KTO weights do not reach the loss (the defaults are used)",
    edits: [{ find: 'desirableWeight: c.desirable_weight, undesirableWeight: c.undesirable_weight', replace: 'desirableWeight: 1, undesirableWeight: 1' }],
  },
  {
    id: 'kto-kl-unclamped',
    why: "KTO's KL reference point is not clamped at 0 (TRL's clamp(min=0))",
    edits: [{ find: 'Math.max(0, sum / policyKlLogps.length)', replace: '(sum / policyKlLogps.length)' }],
  },
  {
    id: 'kto-kl-ignored',
    why: "KTO's loss ignores the KL reference point",
    edits: [{ find: 'tf.sub(logratios, kl)', replace: 'tf.sub(logratios, 0)' }],
  },
  // Our GELU and norm kernel (issue #29).
  {
    id: 'fused-norm-unit-offset-ignored',
    why: "Gemma's RMSNorm scales by w, not 1 + w, on the fused kernel",
    edits: [{ find: 'if (!spec.unitOffset)', replace: 'if (true)' }],
  },
  {
    id: 'fused-layernorm-dw-dropped',
    why: "the fused LayerNorm's weight gets no gradient",
    edits: [{ find: 'return [g.dx, g.dw, g.db];', replace: 'return [g.dx, tf.zerosLike(g.dw), g.db];' }],
  },
];
