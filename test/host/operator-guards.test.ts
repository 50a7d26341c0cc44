// Operators protected from their own mistakes, in process: a private key
// that others can read is refused with the command that fixes it, and a
// state directory in use by a live service cannot be taken by a second.
import { test } from "node:test"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import {
    chmodSync,
    existsSync,
    mkdtempSync,
    readFileSync,
    rmSync,
    writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
    PrivateKeyFileError,
    readPrivateKeyFile,
    unsafeKeyMode,
} from "../../host/lib/private-key-file.ts"
import {
    lockStateDir,
    prepareStateDir,
    STATE_LOCK_FILE,
    StateDirError,
} from "../../host/fleet/service/state-dir.ts"
import {
    generateReleaseKeys,
    loadPrivateKey,
    signRelease,
} from "../../host/fleet/release/signing.ts"
import { publishVersion } from "../../host/fleet/release/publish.ts"
import { ArtifactStore } from "../../host/fleet/release/artifacts.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import { buildFleetApp, releaseKeys } from "./fleet-helpers.ts"

const tmp = () => mkdtempSync(join(tmpdir(), "operator-guards-"))

test("a private key mode is safe only when group and others have no bit", () => {
    assert.equal(unsafeKeyMode(0o600), undefined)
    assert.equal(unsafeKeyMode(0o400), undefined)
    assert.equal(unsafeKeyMode(0o700), undefined)
    assert.equal(unsafeKeyMode(0o100600), undefined, "file type bits ignored")
    assert.equal(unsafeKeyMode(0o640), "readable by its group (mode 640)")
    assert.equal(unsafeKeyMode(0o644), "readable by others (mode 644)")
    assert.equal(unsafeKeyMode(0o604), "readable by others (mode 604)")
    assert.equal(unsafeKeyMode(0o620), "readable by its group (mode 620)")
})

test("a world-readable key file is refused with the chmod that fixes it; 0600 is read", () => {
    const dir = tmp()
    try {
        const file = join(dir, "server-key.pem")
        writeFileSync(file, "KEY", { mode: 0o644 })
        chmodSync(file, 0o644)
        assert.throws(
            () => readPrivateKeyFile(file),
            (e: Error) =>
                e instanceof PrivateKeyFileError &&
                e.message.includes("readable by others (mode 644)") &&
                e.message.endsWith(`Run: chmod 600 ${file}`) &&
                !e.message.includes("KEY")
        )
        chmodSync(file, 0o600)
        assert.equal(readPrivateKeyFile(file).toString(), "KEY")
    } finally {
        rmSync(dir, { recursive: true, force: true })
    }
})

test("a release private key that its group can read is refused before it signs", () => {
    const dir = tmp()
    try {
        const file = join(dir, "release-key.pem")
        writeFileSync(file, generateReleaseKeys().privatePem, { mode: 0o600 })
        assert.equal(loadPrivateKey(file).asymmetricKeyType, "ed25519")
        chmodSync(file, 0o640)
        assert.throws(() => loadPrivateKey(file), /chmod 600/)
    } finally {
        rmSync(dir, { recursive: true, force: true })
    }
})

/** A process that lives until killed, for a lock held by someone else. */
function otherProcess() {
    const child = spawn(
        process.execPath,
        ["-e", "setInterval(() => {}, 1e6)"],
        { stdio: "ignore" }
    )
    const exited = new Promise<void>(r => child.once("exit", () => r()))
    return {
        pid: child.pid!,
        stop() {
            child.kill("SIGKILL")
            return exited
        },
    }
}

test("a state directory held by a live process is refused; a dead holder's lock is taken over", async () => {
    const dir = tmp()
    const state = join(dir, "state")
    prepareStateDir(state)
    const lock = join(state, STATE_LOCK_FILE)
    const other = otherProcess()
    try {
        writeFileSync(lock, `${other.pid}\n`)
        assert.throws(
            () => lockStateDir(state),
            (e: Error) =>
                e instanceof StateDirError &&
                e.message.includes(
                    `in use by another fleet service (pid ${other.pid})`
                )
        )
        assert.equal(readFileSync(lock, "utf8"), `${other.pid}\n`, "left alone")
        await other.stop()
        const release = lockStateDir(state)
        assert.equal(readFileSync(lock, "utf8"), `${process.pid}\n`)
        // this process holds it now: a second lock here is refused too
        assert.throws(() => lockStateDir(state), StateDirError)
        release()
        assert.equal(existsSync(lock), false, "released")
        release()
        // a lock file that is not a pid (damaged) is taken over
        writeFileSync(lock, "garbage")
        lockStateDir(state)()
        assert.equal(existsSync(lock), false)
    } finally {
        await other.stop().catch(() => {})
        rmSync(dir, { recursive: true, force: true })
    }
})

test("releasing leaves alone a lock that another process took meanwhile", () => {
    const dir = tmp()
    const state = join(dir, "state")
    prepareStateDir(state)
    try {
        const release = lockStateDir(state)
        writeFileSync(join(state, STATE_LOCK_FILE), "1\n")
        release()
        assert.equal(readFileSync(join(state, STATE_LOCK_FILE), "utf8"), "1\n")
    } finally {
        rmSync(dir, { recursive: true, force: true })
    }
})

test("a version name or note with a hidden character is refused before anything is stored", async () => {
    const dir = tmp()
    const store = new SqliteStore(join(dir, "fleet.db"))
    const artifacts = new ArtifactStore(join(dir, "artifacts"))
    try {
        const image = await buildFleetApp("v1")
        for (const [name, note, what] of [
            ["v1\u202Egnp.exe", "", /version name: \\u202E/],
            [" v1", "", /version name: no space at the start/],
            ["v1", "fine\u001b[31m red", /--note: \\u001B/],
        ] as const)
            await assert.rejects(
                publishVersion(store, artifacts, image, {
                    name,
                    note,
                    signature: signRelease(image, releaseKeys.privateKey),
                    releaseKey: releaseKeys.publicKey,
                }),
                (e: Error) => e instanceof RangeError && what.test(e.message)
            )
        assert.deepEqual(await store.versions(), [], "nothing published")
        const ok = await publishVersion(store, artifacts, image, {
            name: "v1",
            note: "ok",
            signature: signRelease(image, releaseKeys.privateKey),
            releaseKey: releaseKeys.publicKey,
        })
        assert.equal(ok.version.name, "v1")
    } finally {
        await store.close()
        rmSync(dir, { recursive: true, force: true })
    }
})
