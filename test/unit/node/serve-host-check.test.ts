// The Host-header rule of `dpo serve` (DNS-rebinding defence): a loopback server answers only to
// loopback names and the names the user allowed; a server bound elsewhere is not checked.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { hostNameOf, hostRefusal, isLoopbackAddress } from '../../../src/node/serve/host-check';

describe('serve: Host header check', () => {
  it('names without ports, IPv6 in brackets', () => {
    assert.equal(hostNameOf('Example.COM:8000'), 'example.com');
    assert.equal(hostNameOf('[::1]:8000'), '[::1]');
    assert.equal(hostNameOf('localhost'), 'localhost');
  });

  it('loopback addresses', () => {
    for (const a of ['127.0.0.1', 'localhost', '::1', '127.1.2.3']) assert.ok(isLoopbackAddress(a), a);
    for (const a of ['0.0.0.0', '192.168.1.2', '::', 'my-box']) assert.ok(!isLoopbackAddress(a), a);
  });

  it('a loopback server refuses other names unless allowed; a server bound elsewhere answers any', () => {
    for (const h of ['localhost:8000', '127.0.0.1:8000', '[::1]:8000', '127.0.0.2']) assert.equal(hostRefusal('127.0.0.1', h), undefined, h);
    assert.match(hostRefusal('127.0.0.1', 'evil.test:8000') ?? '', /--allowed-host evil\.test/);
    assert.match(hostRefusal('localhost', 'localhost.evil.test') ?? '', /not served/);
    assert.equal(hostRefusal('127.0.0.1', 'my-box:8000', ['My-Box']), undefined);
    assert.equal(hostRefusal('0.0.0.0', 'evil.test'), undefined);
  });
});
