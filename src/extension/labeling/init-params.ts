// What the labeling webview is told when it loads (host/didInit): the file's title, its guidelines
// file (beside the data) and the labeling settings. Read from disk here; nothing is written.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HostToLabel, WEBVIEW_PROTOCOL_VERSION } from '../../protocol';

/** `data.guidelines.md` or `data.jsonl.guidelines.md` beside `data.jsonl`. */
export function guidelinesFile(dataFile: string): string {
  const base = dataFile.replace(/\.jsonl$/i, '');
  const candidates = [`${base}.guidelines.md`, `${dataFile}.guidelines.md`];
  return candidates.find((f) => fs.existsSync(f)) ?? candidates[0];
}

export function initParams(file: string, settings: { blind: boolean; annotator: string }): HostToLabel['host/didInit'] {
  const guide = guidelinesFile(file);
  return {
    protocolVersion: WEBVIEW_PROTOCOL_VERSION,
    // With its folder: a text tab of the same file has the same tab title (VS Code names a custom editor's tab by the file).
    file: `${path.basename(path.dirname(file))}/${path.basename(file)} — labeling`,
    guidelinesFile: path.basename(guide),
    guidelines: fs.existsSync(guide) ? fs.readFileSync(guide, 'utf8') : null,
    blind: settings.blind,
    annotator: settings.annotator,
  };
}
