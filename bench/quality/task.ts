// The quality benchmark's task: short movie reviews from a small grammar, with a true reward that
// is a fixed, documented function of the text (a sentiment lexicon), standing in for the paper's
// IMDb reviews and sentiment classifier. Everything is seeded, so a seed gives the same corpus.
import { Rng } from '../../src/engine/rng';

/**
 * The true reward's lexicon: the score of each adjective. Every other word scores 0.
 * r(text) = Σ over the words of the text of LEXICON[word].
 */
export const LEXICON: Readonly<Record<string, number>> = {
  superb: 2,
  great: 2,
  good: 1,
  fun: 1,
  nice: 1,
  long: 0,
  odd: 0,
  loud: 0,
  plain: 0,
  dull: -1,
  weak: -1,
  poor: -1,
  awful: -2,
  bad: -2,
};

const NOUNS = ['film', 'plot', 'cast', 'music', 'story', 'ending', 'acting', 'script'];
const OPENERS = ['', 'well, ', 'honestly ', 'so ', 'i think '];
const JOINERS = [' and ', ', ', '. ', ' but '];
const MOODS = {
  pos: ['superb', 'great', 'good', 'fun', 'nice'],
  neutral: ['long', 'odd', 'loud', 'plain'],
  neg: ['dull', 'weak', 'poor', 'awful', 'bad'],
};
const ALL_ADJECTIVES = Object.keys(LEXICON);

/** Every word the grammar writes; the task's tokenizer makes each one token after a space. */
export const TASK_WORDS = [...new Set(['the', 'was', 'and', 'but', 'well', 'honestly', 'so', 'i', 'think', ...NOUNS, ...ALL_ADJECTIVES])];

/** The true reward of a text. */
export function trueReward(text: string): number {
  let r = 0;
  for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) r += LEXICON[word] ?? 0;
  return r;
}

export interface Review {
  /** The opening clause, used as the prompt. */
  prompt: string;
  /** The rest of the review, a completion of the prompt. */
  completion: string;
}

/**
 * One review: a latent mood (positive, neutral or negative) picks each adjective from its set with
 * probability `moodStrength`, else from all adjectives, so the opening clause predicts, but does
 * not fix, the sentiment of the rest (as a review's first sentence does).
 */
export function sampleReview(rng: Rng, moodStrength = 0.6): Review {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rng.next() * xs.length)];
  const mood = pick(Object.values(MOODS));
  const adjective = () => (rng.next() < moodStrength ? pick(mood) : pick(ALL_ADJECTIVES));
  const clause = () => `the ${pick(NOUNS)} was ${adjective()}`;
  const prompt = pick(OPENERS) + clause();
  let completion = '';
  const clauses = 1 + Math.floor(rng.next() * 3);
  for (let i = 0; i < clauses; i++) completion += pick(JOINERS) + clause();
  return { prompt, completion: completion + '.' };
}

export function sampleReviews(count: number, seed: number): Review[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => sampleReview(rng));
}
