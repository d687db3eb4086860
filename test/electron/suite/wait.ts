// Waiting on VS Code state through its events, never by sleeping a fixed time.
import * as vscode from 'vscode';

/**
 * In the web workbench the development extension can be registered a moment after the test runner
 * starts (first start of a fresh server): wait for it on the registry's change event.
 */
// The first start of a fresh profile on a loaded 2-core machine can take a minute before extensions register.
export function waitForExtension<T>(id: string, timeoutMs = 180_000): Promise<vscode.Extension<T>> {
  const found = vscode.extensions.getExtension<T>(id);
  if (found) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`extension ${id} was not registered within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const sub = vscode.extensions.onDidChange(() => {
      const ext = vscode.extensions.getExtension<T>(id);
      if (!ext) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(ext);
    });
  });
}

/**
 * Resolves once `ready()` holds: checked at once (the event may already have fired before the
 * caller subscribed) and again on every `event`. No timeout of its own: Mocha's bounds the test.
 */
export function until(event: vscode.Event<unknown>, ready: () => boolean): Promise<void> {
  if (ready()) return Promise.resolve();
  return new Promise((resolve) => {
    const sub = event(() => {
      if (!ready()) return;
      sub.dispose();
      resolve();
    });
  });
}
