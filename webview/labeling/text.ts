// Prompt and response text as the labeling editor shows it: markdown with raw HTML escaped (no HTML
// from the data reaches the page), and chat lists as one block per message headed by its role.
import MarkdownIt from 'markdown-it';
import type { LabelText } from '../../src/protocol/webview';

const md = new MarkdownIt({ html: false, linkify: false, breaks: true });

/** HTML for markdown text (the guidelines file, a response). */
export function renderMarkdown(text: string): string {
  return md.render(text);
}

export function textOf(t: LabelText): string {
  return typeof t === 'string' ? t : t.length ? t[t.length - 1].content : '';
}

/** Markdown for text; one block per message for a chat list, each headed by its role. */
export function renderText(t: LabelText | undefined): HTMLElement {
  const div = document.createElement('div');
  div.className = 'text';
  if (t === undefined) return div;
  if (typeof t === 'string') {
    div.innerHTML = md.render(t);
    return div;
  }
  for (const m of t) {
    const block = document.createElement('div');
    block.className = `message role-${m.role.replace(/[^a-z]/gi, '')}`;
    const role = document.createElement('div');
    role.className = 'role';
    role.textContent = m.role;
    const body = document.createElement('div');
    body.innerHTML = md.render(m.content);
    block.append(role, body);
    div.append(block);
  }
  return div;
}
