/**
 * The embedded repository's per-user cache directory: created 0700, and refused (clear message) when it is a
 * symlink, group/world-writable or owned by someone else, so no other local user can plant a model in it.
 */
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CacheDirError, cacheDirPath, privateCacheDir } from '../../embedded-server/src/cache-dir.ts';

describe('per-user cache directory', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'inferbench-cache-test-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('is $XDG_CACHE_HOME/inferbench, or ~/.cache/inferbench when XDG_CACHE_HOME is unset or relative', () => {
    assert.equal(cacheDirPath({ XDG_CACHE_HOME: '/x/cache' }, '/home/u'), '/x/cache/inferbench');
    assert.equal(cacheDirPath({}, '/home/u'), '/home/u/.cache/inferbench');
    assert.equal(cacheDirPath({ XDG_CACHE_HOME: 'relative' }, '/home/u'), '/home/u/.cache/inferbench');
  });

  it('is created with mode 0700 and reused when it is private', async () => {
    const dir = join(root, 'fresh', 'inferbench');
    assert.equal(await privateCacheDir(dir), dir);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal(await privateCacheDir(dir), dir);
  });

  it('refuses a group- or world-writable directory, a symlink, and one owned by someone else', async () => {
    const open = join(root, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    await assert.rejects(privateCacheDir(open), (e: unknown) => {
      assert.ok(e instanceof CacheDirError);
      assert.match(
        e.message,
        /is writable by others \(mode 777\): refusing to load models from it; run chmod 700/,
      );
      return true;
    });
    const group = join(root, 'group');
    await mkdir(group, { mode: 0o770 });
    await chmod(group, 0o770);
    await assert.rejects(privateCacheDir(group), /is writable by its group/);
    const link = join(root, 'link');
    await symlink(open, link);
    await assert.rejects(privateCacheDir(link), /is a symbolic link/);
    if (process.getuid?.() === 0) {
      // As root the owner check can be exercised: a directory handed to another user is refused.
      const foreign = join(root, 'foreign');
      await mkdir(foreign, { mode: 0o700 });
      await chown(foreign, 12345, 12345);
      await assert.rejects(privateCacheDir(foreign), /is owned by user id 12345, not by you \(0\)/);
    }
  });
});
