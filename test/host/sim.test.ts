/**
 * host/sim/ end to end: real simulator sessions (dev tools + VM, outside
 * test mode). Slow-ish (a session boots in about 5 s), so tests share the
 * machine-wide ports one after another.
 */
import { after, before, describe, test } from "node:test"
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import {
    existsSync,
    mkdtempSync,
    readFileSync,
    rmSync,
    statSync,
} from "node:fs"
import { createServer as createHttpsServer, type Server } from "node:https"
import { createServer as createNetServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
    assertSimPortsFree,
    settingsToEnv,
    startSim,
    SIM_PORTS,
} from "../../host/sim/index.ts"
import { projectRoot } from "../../host/lib/devs.ts"
import { WAIT_FOR_PORTS_MS } from "./e2e-helpers.ts"

const work = mkdtempSync(join(tmpdir(), "sim-test-"))
/** Other tools (bench, e2e) may hold the simulator for a while. */
const waitForPortsMs = WAIT_FOR_PORTS_MS
after(() => rmSync(work, { recursive: true, force: true }))

/** CLI processes this test process started (host/sim/ spawns them directly). */
function devsProcesses(): string[] {
    const out = execFileSync("ps", ["-eo", "pid,ppid,args"], {
        encoding: "utf8",
    })
    return out
        .split("\n")
        .map(l => l.trim().split(/\s+/))
        .filter(
            ([, ppid, ...args]) =>
                +ppid === process.pid &&
                args.join(" ").includes("devicescript-cli.cjs")
        )
        .map(f => f.join(" "))
}

describe("settingsToEnv", () => {
    test("quotes values so they read back as strings, escapes #", () => {
        assert.equal(
            settingsToEnv({ A: "007", B: "x#y", C: 'q"\n' }),
            'A="007"\nB="x\\u0023y"\nC="q\\"\\n"\n'
        )
    })
    test("rejects keys and values the device cannot hold", () => {
        assert.throws(() => settingsToEnv({ ABCDEFGHIJKLMN: "x" }), /13/)
        assert.throws(() => settingsToEnv({ "A=B": "x" }), RangeError)
        assert.throws(() => settingsToEnv({ K: "x".repeat(230) }), /232/)
        assert.doesNotThrow(() => settingsToEnv({ K: "x".repeat(228) }))
    })
})

describe("sim sessions", () => {
    test("settings are provisioned, survive a reboot, flash keeps program state", async () => {
        const flashFile = join(work, "settings.bin")
        const sim = await startSim({
            waitForPortsMs,
            entry: "test/fixtures/sim-settings.ts",
            settings: { DEVICE_NAME: "dev#1 007", DEVICE_SECRET: "0123" },
            flashFile,
            clearFlash: true,
        })
        try {
            console.log(`# boot: ${sim.bootMs} ms`)
            assert.equal((await sim.waitForLine(/^sim: boot (\d+)/))[1], "1")
            assert.equal(
                (await sim.waitForLine(/^sim: device=(.*)/))[1],
                "dev#1 007"
            )
            assert.equal(
                (await sim.waitForLine(/^sim: secret=(.*)/))[1],
                "0123"
            )
            assert.equal((await sim.waitForLine(/^sim: stored=(.*)/))[1], "-")
            await sim.waitForLine(/^sim: ready/)
            assert.ok(
                statSync(flashFile).size > 0,
                "flash written at the given path"
            )

            const t = Date.now()
            await sim.restart()
            console.log(`# reboot: ${Date.now() - t} ms`)
            assert.equal((await sim.waitForLine(/^sim: boot (\d+)/))[1], "2")
            // settings deployed once are still there after the reboot
            assert.equal(
                (await sim.waitForLine(/^sim: device=(.*)/))[1],
                "dev#1 007"
            )
            assert.equal(
                (await sim.waitForLine(/^sim: stored=(.*)/))[1],
                "written at boot 1"
            )
            // redeploy with new settings: the program restarts, keys stored
            // by the program stay
            await sim.deploy({ DEVICE_NAME: "dev2", DEVICE_SECRET: "s" })
            assert.equal((await sim.waitForLine(/^sim: boot (\d+)/))[1], "3")
            assert.equal(
                (await sim.waitForLine(/^sim: device=(.*)/))[1],
                "dev2"
            )
        } finally {
            await sim.stop()
        }
        assert.deepEqual(devsProcesses(), [], "no dev tools / vm left")
        assert.ok(!existsSync(sim.dir), "temporary project removed")
        assert.ok(existsSync(flashFile), "a caller's flash file is kept")

        // a new session on the same flash: program state is there. The
        // program already in flash may run once (old settings) before the
        // deploy restarts it, depending on timing, like a real board; the
        // line cursor starts at the deployed run either way.
        const again = await startSim({
            waitForPortsMs,
            entry: "test/fixtures/sim-settings.ts",
            settings: { DEVICE_NAME: "dev3", DEVICE_SECRET: "s" },
            flashFile,
        })
        try {
            const boot = +(await again.waitForLine(/^sim: boot (\d+)/))[1]
            assert.ok(boot === 4 || boot === 5, `boot ${boot}`)
            assert.equal(
                (await again.waitForLine(/^sim: device=(.*)/))[1],
                "dev3"
            )
            assert.equal(
                (await again.waitForLine(/^sim: stored=(.*)/))[1],
                `written at boot ${boot - 1}`
            )
        } finally {
            await again.stop()
        }

        // clearFlash: an erased board
        const fresh = await startSim({
            waitForPortsMs,
            entry: "test/fixtures/sim-settings.ts",
            flashFile,
            clearFlash: true,
        })
        try {
            assert.equal((await fresh.waitForLine(/^sim: boot (\d+)/))[1], "1")
            assert.equal((await fresh.waitForLine(/^sim: device=(.*)/))[1], "-")
        } finally {
            await fresh.stop()
        }
    })

    test("the repository's own .env files are neither read nor written", async () => {
        // the shadow project never links .env*; check the listing
        const sim = await startSim({
            entry: "test/fixtures/sim-settings.ts",
            waitForPortsMs,
        })
        try {
            const env = readFileSync(join(sim.dir, ".env.defaults"), "utf8")
            assert.equal(env, "")
            assert.ok(!existsSync(join(sim.dir, ".env.local")))
            assert.ok(!existsSync(join(sim.dir, ".git")))
            await sim.waitForLine(/^sim: ready/)
        } finally {
            await sim.stop()
        }
        assert.ok(existsSync(projectRoot))
    })

    test("a busy simulator port fails with a clear message", async () => {
        // (if another tool holds the ports right now, they are busy anyway)
        const blocker = createNetServer()
        await new Promise<void>(r => {
            blocker.once("error", () => r())
            blocker.listen(SIM_PORTS[1], "127.0.0.1", r)
        })
        try {
            await assert.rejects(
                assertSimPortsFree(),
                /port 808\d .* busy.*one simulator session/s
            )
            await assert.rejects(
                startSim({ entry: "test/fixtures/sim-settings.ts" }),
                /port 808\d .* busy/s
            )
        } finally {
            if (blocker.listening) await new Promise(r => blocker.close(r))
        }
        assert.deepEqual(devsProcesses(), [])
    })

    test("a second session in the same process is refused", async () => {
        const sim = await startSim({
            entry: "test/fixtures/sim-settings.ts",
            waitForPortsMs,
        })
        try {
            await assert.rejects(
                startSim({
                    entry: "test/fixtures/sim-settings.ts",
                    waitForPortsMs,
                }),
                /already running/
            )
            // line helpers: follow() sees new lines, waitForLine times out
            const it = sim.follow()
            await sim.restart()
            const first = await it.next()
            assert.match(first.value, /DeviceScript Simulator|start:/)
            await assert.rejects(
                sim.waitForLine(/never printed/, 300),
                /within 300 ms/
            )
        } finally {
            await sim.stop()
        }
    })

    test("a runtime abort (oversized setting read) makes waits fail at once", async () => {
        const sim = await startSim({
            entry: "test/fixtures/sim-abort.ts",
            waitForPortsMs,
        })
        try {
            await sim.waitForLine(/^abort: written/)
            const t = Date.now()
            await assert.rejects(
                sim.waitForLine(/^abort: read/, 20_000),
                /device aborted/
            )
            assert.ok(Date.now() - t < 10_000)
        } finally {
            await sim.stop()
        }
    })

    test("compile errors are reported and leave nothing running", async () => {
        await assert.rejects(
            startSim({ entry: "test/fixtures/sim-broken.ts", waitForPortsMs }),
            /build of test\/fixtures\/sim-broken.ts failed/
        )
        assert.deepEqual(devsProcesses(), [])
    })
})

describe("sim TLS", () => {
    let good: Server
    let bad: Server
    let caFile = ""

    /** openssl: CA, a server certificate it signs, and one from another CA. */
    function makeCerts() {
        const ssl = (...args: string[]) =>
            execFileSync("/usr/bin/openssl", args, { cwd: work, stdio: "pipe" })
        const ext = join(work, "san.ext")
        execFileSync("sh", [
            "-c",
            `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nbasicConstraints=CA:FALSE\\n' > ${ext}`,
        ])
        for (const ca of ["ca", "other"]) {
            ssl(
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                `${ca}.key`,
                "-out",
                `${ca}.crt`,
                "-days",
                "2",
                "-subj",
                `/CN=sim test ${ca}`
            )
            ssl(
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                `${ca}-srv.key`,
                "-out",
                `${ca}-srv.csr`,
                "-subj",
                "/CN=127.0.0.1"
            )
            ssl(
                "x509",
                "-req",
                "-in",
                `${ca}-srv.csr`,
                "-CA",
                `${ca}.crt`,
                "-CAkey",
                `${ca}.key`,
                "-CAcreateserial",
                "-out",
                `${ca}-srv.crt`,
                "-days",
                "2",
                "-extfile",
                ext
            )
        }
        caFile = join(work, "ca.crt")
    }

    function serve(prefix: string) {
        const srv = createHttpsServer(
            {
                key: readFileSync(join(work, `${prefix}-srv.key`)),
                cert: readFileSync(join(work, `${prefix}-srv.crt`)),
            },
            (_req, res) => {
                res.writeHead(200, { "content-type": "text/plain" })
                res.end("hi")
            }
        )
        return new Promise<Server>(r =>
            srv.listen(0, "127.0.0.1", () => r(srv))
        )
    }

    before(async () => {
        makeCerts()
        good = await serve("ca")
        bad = await serve("other")
    })
    after(() => {
        good?.close()
        bad?.close()
    })

    const port = (s: Server) => String((s.address() as { port: number }).port)

    test("NODE_EXTRA_CA_CERTS trusts the test CA; a certificate from another CA is refused", async () => {
        const sim = await startSim({
            waitForPortsMs,
            entry: "test/fixtures/sim-tls.ts",
            settings: { TLS_GOOD: port(good), TLS_BAD: port(bad) },
            env: { NODE_EXTRA_CA_CERTS: caFile },
        })
        try {
            assert.match(
                (await sim.waitForLine(/^tls TLS_GOOD: (.*)/, 20_000))[1],
                /^ok HTTP\/1\.1 200 OK/
            )
            assert.match(
                (await sim.waitForLine(/^tls TLS_BAD: (.*)/, 20_000))[1],
                /^error .*certificate/
            )
            await sim.waitForLine(/^tls: done/)
            // the simulator reports "open" at TCP connect, before the TLS
            // handshake: the certificate error comes after it
            assert.ok(sim.lines.some(l => / open /.test(l)))
        } finally {
            await sim.stop()
        }
    })

    test("without NODE_EXTRA_CA_CERTS the test CA is not trusted", async () => {
        const sim = await startSim({
            waitForPortsMs,
            entry: "test/fixtures/sim-tls.ts",
            settings: { TLS_GOOD: port(good), TLS_BAD: port(bad) },
            env: { NODE_EXTRA_CA_CERTS: "" },
        })
        try {
            assert.match(
                (await sim.waitForLine(/^tls TLS_GOOD: (.*)/, 20_000))[1],
                /^error .*certificate/
            )
        } finally {
            await sim.stop()
        }
    })
})
