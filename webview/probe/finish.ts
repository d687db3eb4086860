// Why a probe answer ended, in words (the engine's FinishReason codes: length, eos, stop, context,
// cancelled). Pure, so a unit test loads it.

/** "reached max tokens (24)" for `length` with the limit it ran under; the other reasons in words. */
export function finishText(reason: string | undefined, maxTokens?: number): string {
  switch (reason) {
    case undefined:
    case '':
      return '';
    case 'length':
      return maxTokens === undefined ? 'reached max tokens' : `reached max tokens (${maxTokens})`;
    case 'eos':
      return 'ended: end-of-sequence token';
    case 'stop':
      return 'ended: stop text';
    case 'context':
      return "reached the model's context length";
    case 'cancelled':
      return 'cancelled';
    default:
      return `ended: ${reason}`;
  }
}
