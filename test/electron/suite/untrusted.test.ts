/// <reference types="mocha" />
// Restricted Mode: in an untrusted workspace the commands that load models or train refuse, and say why.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { CommandResult } from '../../../src/extension/commands';
import { waitForExtension } from './wait';

describe('DPO Studio in an untrusted workspace', () => {
  before(async () => {
    await (await waitForExtension('dpo-studio.dpo-studio')).activate();
  });

  it('the workspace is untrusted', () => {
    assert.equal(vscode.workspace.isTrusted, false);
  });

  for (const [id, arg] of [
    ['dpo.newTrainingRun', { model: '/m', data: '/d.jsonl', config: {} }],
    ['dpo.startRunFromConfig', '/x/run.dpo.json'],
    ['dpo.resumeRun', '/x/run'],
    ['dpo.makeTinyModel', { out: '/tmp/never' }],
    ['dpo.evaluateModel', { models: ['/x/run/final'] }],
  ] as const) {
    it(`${id} refuses and explains Restricted Mode`, async () => {
      const r = await vscode.commands.executeCommand<CommandResult>(id, arg);
      assert.equal(r.ok, false);
      assert.match(r.error!, /disabled in Restricted Mode: they read model files and run code from this workspace/);
    });
  }
});
