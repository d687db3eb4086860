// The labeling editor's keyboard help: a modal dialog that takes focus when it opens, keeps Tab
// inside it, and gives focus back to where it was when it closes.

const byId = (id: string) => document.getElementById(id) as HTMLElement;

/** Where focus was when the help opened. */
let helpReturn: HTMLElement | undefined;

/** Opens, closes (open given) or toggles the help. */
export function toggleHelp(open?: boolean): void {
  const help = byId('help');
  const opening = open ?? help.hidden;
  if (opening === !help.hidden) return;
  if (opening) helpReturn = document.activeElement instanceof HTMLElement && document.activeElement !== document.body ? document.activeElement : undefined;
  help.hidden = !opening;
  if (opening) byId('help-dialog').focus();
  else (helpReturn?.isConnected ? helpReturn : byId('pair')).focus();
}

/** A key while the help is open: Escape or ? closes it, Tab stays inside. True when the help had it. */
export function helpKey(ev: KeyboardEvent): boolean {
  if (byId('help').hidden) return false;
  if (ev.key === 'Escape' || ev.key === '?') toggleHelp(false);
  else if (ev.key === 'Tab') {
    // Its one control is Close.
    ev.preventDefault();
    byId('help-close').focus();
  }
  return true;
}
