// The extension host's handle on one engine child process: the shared client of
// src/node/engine-client.ts (spawn, version check, requests, stderr kept in the run's log.txt) as a
// vscode.Disposable with vscode.Events. Nothing of the protocol is implemented here.
import * as vscode from 'vscode';
import { EngineExit, EngineLaunch, EngineProcess, describeExit, isEvent } from '../node/engine-client';
import { EngineEvents, EngineRequests, Event, RequestType } from '../protocol';

export { describeExit, isEvent };
export type { EngineExit, EngineLaunch };

export class EngineClient implements vscode.Disposable {
  private readonly process: EngineProcess;
  private readonly onEventEmitter = new vscode.EventEmitter<Event>();
  private readonly onExitEmitter = new vscode.EventEmitter<EngineExit>();
  readonly onEvent = this.onEventEmitter.event;
  readonly onExit = this.onExitEmitter.event;
  /** Resolves with the handshake; rejects if the engine exits first or speaks another version. */
  readonly ready: Promise<EngineEvents['engine/didStart']>;

  constructor(launch: EngineLaunch) {
    this.process = new EngineProcess(launch);
    this.process.onEvent((e) => this.onEventEmitter.fire(e));
    this.process.onExit((x) => this.onExitEmitter.fire(x));
    this.ready = this.process.ready;
  }

  get exited(): EngineExit | undefined {
    return this.process.exited;
  }

  request<T extends RequestType>(type: T, params: EngineRequests[T]['params']): Promise<EngineRequests[T]['result']> {
    return this.process.request(type, params);
  }

  kill(): void {
    this.process.kill();
  }

  dispose(): void {
    this.process.dispose();
    this.onEventEmitter.dispose();
    this.onExitEmitter.dispose();
  }
}
