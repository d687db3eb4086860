// A model folder as the probe's header names it: the run and its model for a run's own folders
// (`<run>/final`, `<run>/step-40`), else the folder's name. The full path goes in a tooltip and
// a disclosure beside it, not in the header line (absolute paths ran off a 700 px panel). Pure.

export function modelLabel(dir: string): string {
  const parts = dir.split(/[\\/]+/).filter((p) => p !== '');
  const last = parts.at(-1);
  if (last === undefined) return dir;
  if (last === 'final' && parts.length >= 2) return `${parts.at(-2)}/final`;
  if (parts.at(-2) === 'checkpoints' && parts.length >= 3) return `${parts.at(-3)}/${last}`;
  return last;
}
