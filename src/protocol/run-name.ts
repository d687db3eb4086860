// A run's name is its folder's name under the runs folder (.dpo/runs/<name>): what the metrics panel's
// legend, Show Runs and the status bar show. Checked here once for the CLI and New Training Run.

/** Why `name` cannot name a run folder, or undefined when it can. */
export function runNameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'a run name cannot be empty';
  if (name !== name.trim()) return 'a run name cannot start or end with a space';
  if (name.length > 100) return 'a run name is at most 100 characters';
  if (/[/\\:*?"<>|]/.test(name) || [...name].some((ch) => ch.charCodeAt(0) < 32))
    return 'a run name is a folder name: no / \\ : * ? " < > | or control characters';
  if (name === '.' || name === '..' || name.startsWith('.')) return 'a run name cannot start with "."';
  return undefined;
}
