// Multi-step QuickInput flows with a Back button: one pick or input box per step, answers kept in
// the caller's state so that going back (or jumping back from a summary) shows them again.
// window.showQuickPick/showInputBox have no Back button, so these use createQuickPick/createInputBox.
import * as vscode from 'vscode';

export const BACK = Symbol('back');
/** A step's answer: the value, BACK (the Back button), or undefined (Escape: the flow is cancelled). */
export type StepAnswer<T> = T | typeof BACK | undefined;

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

/** What a step does next: on to the following step, skipped (not applicable), back, or cancel. */
export type StepOutcome = 'next' | 'skip' | 'back' | 'cancel' | { goto: number };

/** Turns an answer into an outcome, storing the value when there is one. */
export function outcome<T>(answer: StepAnswer<T>, store: (v: T) => void): StepOutcome {
  if (answer === BACK) return 'back';
  if (answer === undefined) return 'cancel';
  store(answer);
  return 'next';
}

/**
 * Runs steps in order. Back returns to the last step that asked something (skipped steps are
 * passed over), and from the first step ends the flow with 'back' (offered when `backFromFirst`:
 * a flow nested in another); `goto` jumps to a step (the
 * summary's Edit), after which the steps follow in order again.
 */
export async function runSteps(steps: ((back: boolean) => Promise<StepOutcome>)[], backFromFirst = false): Promise<'done' | 'back' | 'cancel'> {
  const asked: number[] = [];
  let i = 0;
  while (i < steps.length) {
    const r = await steps[i](backFromFirst || asked.length > 0);
    if (r === 'cancel') return 'cancel';
    if (r === 'back') {
      if (asked.length === 0) return 'back';
      i = asked.pop()!;
    } else if (r === 'skip') i++;
    else if (r === 'next') asked.push(i++);
    else {
      while (asked.length > 0 && asked[asked.length - 1] >= r.goto) asked.pop();
      i = r.goto;
    }
  }
  return 'done';
}
