// Multi-step QuickInput flows with a Back button: one pick or input box per step, answers kept in
// the caller's state so that going back (or jumping back from a summary) shows them again.
// window.showQuickPick/showInputBox have no Back button, so these use createQuickPick/createInputBox.
import * as vscode from 'vscode';
import { BACK, StepAnswer } from './step-flow';

export { BACK, StepAnswer, StepOutcome, outcome, runSteps } from './step-flow';

export type PickItem<T> = vscode.QuickPickItem & { value: T };

export interface PickOptions<T> {
  title: string;
  placeHolder: string;
  items: PickItem<T>[];
  back: boolean;
  /** Shown first and selected: the value picked last time through this step. */
  active?: T;
}

export function pickStep<T>(o: PickOptions<T>): Promise<StepAnswer<T>> {
  const qp = vscode.window.createQuickPick<PickItem<T>>();
  qp.title = o.title;
  qp.placeholder = o.placeHolder;
  qp.items = o.items;
  qp.ignoreFocusOut = true;
  qp.buttons = o.back ? [vscode.QuickInputButtons.Back] : [];
  const active = o.items.find((i) => o.active !== undefined && i.value === o.active);
  if (active) qp.activeItems = [active];
  return settle(qp, (resolve) => [
    qp.onDidAccept(() => {
      const item = qp.selectedItems[0] ?? qp.activeItems[0];
      if (item) resolve(item.value);
    }),
  ]);
}

export interface InputOptions {
  title: string;
  value: string;
  prompt: string;
  back: boolean;
  /** The message shown under the box while the text is not acceptable; undefined when it is. */
  validate: (text: string) => string | undefined;
}

export function inputStep(o: InputOptions): Promise<StepAnswer<string>> {
  const box = vscode.window.createInputBox();
  box.title = o.title;
  box.value = o.value;
  box.prompt = o.prompt;
  box.ignoreFocusOut = true;
  box.buttons = o.back ? [vscode.QuickInputButtons.Back] : [];
  return settle(box, (resolve) => [
    box.onDidChangeValue((text) => (box.validationMessage = o.validate(text))),
    box.onDidAccept(() => {
      box.validationMessage = o.validate(box.value);
      if (!box.validationMessage) resolve(box.value);
    }),
  ]);
}

/** Shows `input`, resolves on the first answer (Back button, accept, or hide = cancel), disposes it. */
function settle<T>(
  input: vscode.QuickPick<PickItem<never>> | vscode.QuickInput,
  listen: (resolve: (v: T) => void) => vscode.Disposable[],
): Promise<StepAnswer<T>> {
  return new Promise((resolve) => {
    let done = false;
    const subs: vscode.Disposable[] = [];
    const finish = (v: StepAnswer<T>) => {
      if (done) return;
      done = true;
      subs.forEach((s) => s.dispose());
      input.dispose();
      resolve(v);
    };
    subs.push(...listen(finish));
    const withButtons = input as vscode.InputBox;
    subs.push(withButtons.onDidTriggerButton((b) => b === vscode.QuickInputButtons.Back && finish(BACK)));
    subs.push(input.onDidHide(() => finish(undefined)));
    input.show();
  });
}
