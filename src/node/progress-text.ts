// Words of an engine's progress events as the status bar and the metrics panel show them. Pure string
// code with no vscode import, so unit tests load it.

/** A progress message's absolute paths cut to their last part: "loading reference model tiny", not a whole path. */
export function shortPaths(message: string): string {
  // Only a path that starts a word: "3/10" is a count.
  return message.replace(/(^|\s)(?:[A-Za-z]:)?[\\/](?:[^\s\\/]+[\\/])*([^\s\\/]+)/g, '$1$2');
}
