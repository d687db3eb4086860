// How the metrics panel shows a run that no engine of this window drives (a terminal's `dpo train`,
// a job on a shared disk): running while the process holding its run.lock lives, with the phase
// words and bar from its progress.json. No vscode import, so unit tests load it.
import { PanelRunStatus, RunProgress, StatusRecord } from '../protocol';
import { readProgressFile } from '../node/progress-file';
import { phaseWords } from '../node/progress-text';
import { liveRunWriter } from '../node/run-lock-holder';

/** The status of a run written elsewhere, from its last status record, whether it finished, and its lock. */
export function elsewhereStatus(runDir: string, last: StatusRecord | undefined, finished: boolean): PanelRunStatus {
  if (last && last.status !== 'running') return last.status;
  // "running" in the file with no live writer: killed (kill -9, power loss), or a copy of a folder.
  if (!finished && liveRunWriter(runDir)) return last ? 'running' : 'starting';
  return !last && finished ? 'completed' : 'ended'; // no status records: a folder from an older version
}

/** Its phase line, and before its first training step the words for its run line ("starting: …"). */
export function elsewhereProgress(runDir: string, status: PanelRunStatus, trained: boolean): { starting?: string; progress?: RunProgress } {
  if (status !== 'running' && status !== 'starting') return {};
  const p = readProgressFile(runDir);
  if (!p) return status === 'starting' ? { starting: 'starting the engine…' } : {};
  const progress = { text: phaseWords(p), done: p.done, total: p.total > 1 ? p.total : 0 };
  if (trained || p.phase === 'training') return { progress };
  return { starting: `${phaseWords(p)}${p.total > 1 ? ` ${p.done}/${p.total}` : ''}…`, progress };
}
