// The labeling editor's edit mode (E): the Save/Cancel bar, the text box focused so that typed text
// goes into it, and the texts that changed. main.ts owns the mode and the pair.

const byId = (id: string) => document.getElementById(id) as HTMLElement | null;

/** Appends the Save/Cancel bar and focuses the first text box once it has rendered. */
export function editBar(root: HTMLElement, onSave: () => void, onCancel: () => void, stillEditing: () => boolean): void {
  const bar = document.createElement('div');
  bar.className = 'edit-actions';
  bar.innerHTML = `<vscode-button id="edit-save">Save edit (Ctrl+Enter)</vscode-button> <vscode-button id="edit-cancel" secondary>Cancel (Esc)</vscode-button>`;
  root.append(bar);
  byId('edit-save')!.addEventListener('click', onSave);
  byId('edit-cancel')!.addEventListener('click', onCancel);
  // The component draws its inner <textarea> after this frame: focusing it now would focus nothing,
  // and the keys typed next would go nowhere.
  const area = byId('edit-left') as (HTMLElement & { updateComplete?: Promise<unknown> }) | null;
  void (area?.updateComplete ?? Promise.resolve()).then(() => {
    if (!stillEditing() || !area?.isConnected) return;
    const inner = area.shadowRoot?.querySelector('textarea');
    (inner ?? area).focus();
  });
}

/** The new text of each response (file order, 0 = a) whose box was changed; null where it was not. */
export function editedTexts(): (string | null)[] {
  const texts: (string | null)[] = [null, null];
  for (const id of ['edit-left', 'edit-right']) {
    const area = byId(id) as (HTMLElement & { value: string }) | null;
    if (area && area.value !== area.dataset.original) texts[Number(area.dataset.index)] = area.value;
  }
  return texts;
}
