/**
 * Launches nats-server (JetStream) and redis-server as child processes on loopback. Used by the
 * test harness (which kills and restarts them) and by the one-command start when no URLs are set.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { CodeqError } from '../errors.js';

/** A server binary codeq can launch, with the Debian package that provides it. */
const BINARIES = {
  'nats-server': { pkg: 'nats-server', paths: ['/usr/sbin/nats-server', '/usr/bin/nats-server'] },
  'redis-server': { pkg: 'redis-server', paths: ['/usr/bin/redis-server', '/usr/sbin/redis-server'] },
} as const;

/** Name of a binary {@link ensureBinary} knows how to find or install. */
export type ServerBinary = keyof typeof BINARIES;

function findOnPath(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const found = r.stdout.trim();
  return r.status === 0 && found ? found : undefined;
}

/**
 * Returns the path of `name`, installing its Debian package with apt when missing and running as
 * root on Debian/Ubuntu. Otherwise throws `UNSUPPORTED` with the exact install command.
 */
export function ensureBinary(name: ServerBinary, log: (line: string) => void = () => {}): string {
  const spec = BINARIES[name];
  const existing = findOnPath(name) ?? spec.paths.find((p) => existsSync(p));
  if (existing) return existing;
  const installCommand = `sudo apt-get update && sudo apt-get install -y ${spec.pkg}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) {
    throw new CodeqError('UNSUPPORTED', `${name} is not installed; install it with: ${installCommand}`);
  }
  log(`${name} not found: installing Debian package ${spec.pkg} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', spec.pkg], { stdio: 'inherit', env });
  const installed = findOnPath(name) ?? spec.paths.find((p) => existsSync(p));
  if (update.status !== 0 || install.status !== 0 || !installed) {
    throw new CodeqError('UNSUPPORTED', `could not install ${spec.pkg}; install it with: ${installCommand}`);
  }
  return installed;
}

/** Asks the OS for a free loopback TCP port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(
  port: number,
  child: ChildProcess,
  timeoutMs: number,
  name: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new CodeqError('UNAVAILABLE', `${name} exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect({ port, host: '127.0.0.1' }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new CodeqError('UNAVAILABLE', `${name} did not listen on ${port} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Options of {@link LocalServer}. */
export interface LocalServerOptions {
  /** Which server. */
  kind: 'nats' | 'redis';
  /** Directory for the server's data (JetStream store, Redis dump/AOF); created if missing. */
  dataDir: string;
  /** TCP port on 127.0.0.1; default: a free port chosen once and kept across restarts. */
  port?: number;
  /** Redis only: keep an append-only file so a restart keeps the data; default false (empty restart). */
  redisAppendOnly?: boolean;
  /** Where the server's own output goes; default ignored. */
  stdio?: 'ignore' | 'inherit';
  /** More command-line arguments (e.g. `-m 8222` for NATS monitoring, `--appendfsync always`). */
  extraArgs?: string[];
  /** Startup timeout in ms; default 15 000. */
  startTimeoutMs?: number;
  /** Progress lines (e.g. apt installs); default silent. */
  log?: (line: string) => void;
}

/** A nats-server or redis-server child process that can be stopped, killed and restarted in place. */
export class LocalServer {
  private child: ChildProcess | undefined;
  private port = 0;

  constructor(private readonly options: LocalServerOptions) {}

  /** URL clients connect to (`nats://127.0.0.1:P` or `redis://127.0.0.1:P`). */
  get url(): string {
    return `${this.options.kind}://127.0.0.1:${this.port}`;
  }

  /** The TCP port (stable across restarts). */
  get listenPort(): number {
    return this.port;
  }

  /** PID of the running process, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** True while the child process has not exited. */
  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the server (again, on the same port and data dir) and waits until it accepts connections. */
  async start(): Promise<this> {
    if (this.running) return this;
    if (!this.port) this.port = this.options.port ?? (await freePort());
    mkdirSync(this.options.dataDir, { recursive: true });
    const { kind, dataDir } = this.options;
    const bin = ensureBinary(kind === 'nats' ? 'nats-server' : 'redis-server', this.options.log);
    const args =
      kind === 'nats'
        ? ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', dataDir]
        : [
            '--port',
            String(this.port),
            '--bind',
            '127.0.0.1',
            '--dir',
            dataDir,
            '--save',
            '',
            '--appendonly',
            this.options.redisAppendOnly ? 'yes' : 'no',
            '--protected-mode',
            'no',
          ];
    args.push(...(this.options.extraArgs ?? []));
    const child = spawn(bin, args, { stdio: this.options.stdio ?? 'ignore' });
    this.child = child;
    await waitForPort(this.port, child, this.options.startTimeoutMs ?? 15_000, kind);
    return this;
  }

  /** Stops the server gracefully (SIGTERM) and waits for it to exit. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** Kills the server with SIGKILL (no flush, no goodbye) and waits for it to exit. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** Stops (or kills) and starts again on the same port and data dir. */
  async restart(how: 'stop' | 'kill' = 'stop'): Promise<void> {
    await (how === 'kill' ? this.kill() : this.stop());
    await this.start();
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(sig);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
