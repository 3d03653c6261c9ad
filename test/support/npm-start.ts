/**
 * `npm start` as a user runs it, for tests of the one-command start: no NATS, Redis or auth
 * settings (it launches its own servers, in dev mode), PORT=0 and its own data dir to stay off
 * shared resources, and the pids it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** A started `npm start`. */
export interface NpmStarted {
  /** The npm process (its pid is what `kill <pid of npm start>` signals). */
  child: ChildProcess;
  /** The base URL it printed. */
  url: string;
  /** The codeq server's pid (it printed it). */
  serverPid: number;
  /** The launched nats-server's pid. */
  natsPid: number;
  /** The launched redis-server's pid. */
  redisPid: number;
  /** Everything printed so far (stdout and stderr). */
  output: () => string;
  /** Resolves with npm's exit code. */
  exited: Promise<number | null>;
}

/**
 * Spawns `npm <args>` (`['start']`, or `['start', '--ignore-scripts']` for the start script without
 * its prestart) and resolves once the banner names the URL and both launched servers.
 */
export async function npmStart(dataDir: string, args: readonly string[] = ['start']): Promise<NpmStarted> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
  };
  for (const k of ['NATS_URL', 'REDIS_URL', 'CODEQ_CONFIG', 'TOKENS', 'DEV_MODE', 'HOST']) delete env[k];
  const child = spawn('npm', [...args], { cwd: process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 45_000;
  for (;;) {
    const listening = /codeq listening on (\S+) \(pid (\d+)\)/.exec(out);
    const locals = [...out.matchAll(/local (nats|redis)-server \(pid (\d+)/g)];
    if (listening && locals.length === 2) {
      const pid = (kind: string): number => Number(locals.find((m) => m[1] === kind)![2]);
      return {
        child,
        url: listening[1]!,
        serverPid: Number(listening[2]),
        natsPid: pid('nats'),
        redisPid: pid('redis'),
        output: () => out,
        exited,
      };
    }
    if (child.exitCode !== null) throw new Error(`npm ${args.join(' ')} exited ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`npm ${args.join(' ')} did not come up:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** True while a process with `pid` exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `pid` is gone; false after `timeoutMs`. */
export async function gone(pid: number, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
