/**
 * The build cache `npm test` shares between its host test files: a program
 * is compiled once per run, even when several files (processes) want it at
 * the same time, and a builder that died leaves no one waiting.
 */
import { test } from "node:test"
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { tmpdir } from "node:os"
import { buildOnce, type BuildResult } from "../../host/lib/build.ts"

function withDir(run: (dir: string) => Promise<void>) {
    return async () => {
        const dir = mkdtempSync(join(tmpdir(), "build-cache-"))
        try {
            await run(dir)
        } finally {
            rmSync(dir, { recursive: true, force: true })
        }
    }
}

/** A build that takes `ms` and counts its calls. */
function countedBuild(ms: number) {
    const counter = { calls: 0 }
    const build = async (): Promise<BuildResult> => {
        counter.calls++
        await new Promise(r => setTimeout(r, ms))
        return { ok: true, output: "built", bytecode: Buffer.from([1, 2, 3]) }
    }
    return { counter, build }
}

test(
    "five callers at once: one build, the same result for all, then read back",
    withDir(async dir => {
        const file = join(dir, "a.json")
        const { counter, build } = countedBuild(300)
        const results = await Promise.all(
            Array.from({ length: 5 }, () => buildOnce(file, build))
        )
        assert.equal(counter.calls, 1)
        for (const r of results) {
            assert.equal(r.output, "built")
            assert.deepEqual(r.bytecode, Buffer.from([1, 2, 3]))
        }
        assert.equal(existsSync(`${file}.lock`), false)
        await buildOnce(file, build)
        assert.equal(counter.calls, 1)
    })
)

test(
    "a live holder's result is waited for, not built again",
    withDir(async dir => {
        const file = join(dir, "b.json")
        writeFileSync(`${file}.lock`, String(process.pid))
        const { counter, build } = countedBuild(0)
        setTimeout(() => {
            writeFileSync(
                file,
                JSON.stringify({ ok: false, output: "from the holder" })
            )
            rmSync(`${file}.lock`)
        }, 500)
        const r = await buildOnce(file, build)
        assert.equal(counter.calls, 0)
        assert.deepEqual(r, {
            ok: false,
            output: "from the holder",
            bytecode: undefined,
        })
    })
)

test(
    "a holder that died without a result: its lock is taken over and the build runs",
    withDir(async dir => {
        const file = join(dir, "c.json")
        const ended = spawnSync(process.execPath, ["-e", "0"])
        assert.equal(ended.status, 0)
        writeFileSync(`${file}.lock`, String(ended.pid))
        const { counter, build } = countedBuild(0)
        const r = await buildOnce(file, build)
        assert.equal(counter.calls, 1)
        assert.equal(r.output, "built")
        assert.equal(existsSync(`${file}.lock`), false)
        assert.ok(existsSync(file))
    })
)

test(
    "a build that throws releases the lock: the next caller builds",
    withDir(async dir => {
        const file = join(dir, "d.json")
        await assert.rejects(
            buildOnce(file, async () => {
                throw new Error("the CLI is missing")
            }),
            /the CLI is missing/
        )
        assert.equal(existsSync(`${file}.lock`), false)
        const { counter, build } = countedBuild(0)
        await buildOnce(file, build)
        assert.equal(counter.calls, 1)
    })
)
