/**
 * `npm test`: runs every firmware test file in the DeviceScript VM and every
 * host test with Node's test runner, then prints one closing line
 * `N passed, N failed` and exits non-zero on any failure, compile error,
 * crash or timeout.
 *
 * Usage: npm test [-- [--fast] FILTER...]
 *   FILTER: only files whose path contains one (without a filter the host
 *           code and the firmware are also type-checked)
 *   --fast: the firmware tests in the VM and the host unit tests, side by
 *           side: no host test file that starts the simulator or is an
 *           integration test (see test-tiers.ts)
 *
 * Firmware test files light on the heap share a VM run (SHARED_VM_GROUPS),
 * and host test files share their firmware builds (BUILD_CACHE_ENV). First,
 * the Debian packages that the selected host files need are installed when
 * missing (test-system-packages.ts).
 */
import { spawn } from "node:child_process"
import {
    readdirSync,
    readFileSync,
    mkdtempSync,
    rmSync,
    writeFileSync,
} from "node:fs"
import { join, relative } from "node:path"
import { tmpdir } from "node:os"
import { devsRunTest, parseDevsSummary, shadowProject } from "../lib/devs.ts"
import { BUILD_CACHE_ENV } from "../lib/build.ts"
import { typecheckFirmware } from "./firmware-typecheck.ts"
import { ensureSystemPackages } from "./test-system-packages.ts"
import { leftOutOfFast } from "./test-tiers.ts"
import { readCommandLine } from "../lib/args.ts"
import { TEST_COMMAND } from "./command.ts"
import {
    type AloneRun,
    type Tally,
    addTally,
    crashedGroupOutcome,
    ranClean,
    vmRunOutcome,
} from "./vm-run-outcome.ts"

const root = join(import.meta.dirname, "../..")

function listFiles(dir: string, suffix: string): string[] {
    let out: string[] = []
    for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name)
        if (e.isDirectory()) out = out.concat(listFiles(p, suffix))
        else if (e.name.endsWith(suffix)) out.push(p)
    }
    return out.sort()
}

function selected(files: string[], filters: string[]) {
    if (!filters.length) return files
    return files.filter(f => filters.some(x => relative(root, f).includes(x)))
}

/**
 * Firmware test files that share one VM run (one compile, which type-checks
 * the program and is most of a file's time), checked to pass together. The
 * others keep a VM of their own: http-response runs out of the test-mode
 * heap (64 KB) beside any other file (and the groups below when two are
 * joined); batch's synchronous sizing test met the VM's InfiniteLoop
 * watchdog beside the Reporter files once in CI; and reporter-refusals
 * twice hung at its first test beside them in a loaded `--fast` run. Neither
 * has failed alone (the likely place of the hang, a settings read with no
 * timeout, is now bounded: see src/settings-read.ts).
 */
const SHARED_VM_GROUPS = [
    [
        "backoff",
        "crypto",
        "time",
        "version",
        "settings-schema",
        "token",
        "settings-read",
    ],
    ["http-request", "channel-response", "payload", "sign", "config"],
    ["http-body-sink", "reading-queue", "token-store", "http-client"],
    ["reporter", "reporter-run", "reporter-batch", "refusals"],
].map(g => g.map(name => join(root, "test/device", `${name}.test.ts`)))

/** `files` as VM runs: the shared groups' selected files, then one run each. */
function vmRuns(files: string[]): string[][] {
    const runs: string[][] = []
    const grouped = new Set<string>()
    for (const g of SHARED_VM_GROUPS) {
        const run = g.filter(f => files.includes(f))
        if (run.length < 2) continue
        runs.push(run)
        run.forEach(f => grouped.add(f))
    }
    return runs.concat(files.filter(f => !grouped.has(f)).map(f => [f]))
}

/**
 * Runs the firmware test files in the VM, `workers` at a time, each worker
 * in its own shadow project (the CLI writes `.devicescript/` where it
 * runs). With more than one, a run's output is printed when it is done.
 */
async function runDeviceTests(files: string[], tally: Tally, workers = 1) {
    const queue = vmRuns(files)
    const worker = async () => {
        const cwd = shadowProject("devs-test-")
        try {
            for (let run; (run = queue.shift());)
                if (run.length === 1)
                    addTally(
                        tally,
                        await runDeviceTest(run[0], cwd, workers === 1)
                    )
                else await runDeviceGroup(run, tally, cwd, workers === 1)
        } finally {
            rmSync(cwd, { recursive: true, force: true })
        }
    }
    await Promise.all(Array.from({ length: workers }, worker))
}

/**
 * Runs several firmware test files in one VM: an entry that imports them
 * all, so their suites run one after another and print one summary. When
 * the run ends without a clean summary (compile error, crash, out of heap,
 * timeout), the group fails, and each file runs again on its own to tell
 * where the failure comes from (see vm-run-outcome.ts).
 */
async function runDeviceGroup(
    files: string[],
    tally: Tally,
    cwd: string,
    live: boolean
) {
    const rels = files.map(f => relative(root, f))
    const title = `\n# device: ${rels.join(" + ")}`
    const entry = "devs-test-group.ts"
    writeFileSync(
        join(cwd, entry),
        rels.map(r => `import "./${r.replace(/\.ts$/, "")}"\n`).join("")
    )
    if (live) console.log(title)
    const { code, output } = await devsRunTest(entry, { echo: live, cwd })
    rmSync(join(cwd, entry), { force: true })
    if (!live) console.log(`${title}\n${output}`)
    const summary = parseDevsSummary(output)
    const name = rels.join(" + ")
    if (ranClean(code, summary)) {
        addTally(tally, vmRunOutcome(name, code, summary))
        return
    }
    console.log(
        `\n# device: ${name}: exit ${code}, no clean summary: the group fails; its files again one by one, to tell where it comes from`
    )
    const alone: AloneRun[] = []
    for (const [i, f] of files.entries())
        alone.push({
            name: rels[i],
            outcome: await runDeviceTest(f, cwd, live),
        })
    const outcome = crashedGroupOutcome(name, code, alone)
    console.log(`\n# device: ${name}, one by one: ${outcome.diagnosis}`)
    addTally(tally, outcome)
}

/** Runs one firmware test file in the VM and returns its results. */
async function runDeviceTest(
    file: string,
    cwd: string,
    live: boolean
): Promise<Tally> {
    const rel = relative(root, file)
    if (live) console.log(`\n# device: ${rel}`)
    const { code, output } = await devsRunTest(rel, { echo: live, cwd })
    if (!live) console.log(`\n# device: ${rel}\n${output}`)
    return vmRunOutcome(rel, code, parseDevsSummary(output))
}

/** Runs the host test files with Node's test runner, `concurrency` at a time. */
async function runHostTests(files: string[], tally: Tally, concurrency = 1) {
    if (!files.length) return
    const dir = mkdtempSync(join(tmpdir(), "host-tests-"))
    const tap = join(dir, "report.tap")
    const args = [
        "--import",
        "tsx",
        "--test",
        `--test-concurrency=${concurrency}`,
        "--test-reporter=spec",
        "--test-reporter-destination=stdout",
        "--test-reporter=tap",
        `--test-reporter-destination=${tap}`,
        ...files.map(f => relative(root, f)),
    ]
    console.log(`\n# host: ${files.length} file(s)`)
    const code = await new Promise<number>(resolve => {
        const child = spawn(process.execPath, args, {
            cwd: root,
            stdio: "inherit",
        })
        child.on("exit", c => resolve(c ?? 1))
    })
    let report = ""
    try {
        report = readFileSync(tap, "utf8")
    } catch {}
    rmSync(dir, { recursive: true, force: true })
    const pass = /^# pass (\d+)$/m.exec(report)
    const fail = /^# fail (\d+)$/m.exec(report)
    if (!pass || !fail) {
        tally.failed++
        tally.failures.push(`host tests (exit ${code}, no report)`)
        return
    }
    tally.passed += +pass[1]
    tally.failed += +fail[1]
    if (+fail[1] || code !== 0) tally.failures.push("host tests")
    if (code !== 0 && !+fail[1]) tally.failed++
}

/** Type-checks the host tools and host tests (`tsx` runs them unchecked). */
async function runHostTypecheck(tally: Tally) {
    console.log(`\n# typecheck: host/tsconfig.json`)
    const tsc = join(root, "node_modules/typescript/bin/tsc")
    const code = await new Promise<number>(resolve => {
        const child = spawn(
            process.execPath,
            [tsc, "-p", "host/tsconfig.json"],
            {
                cwd: root,
                stdio: "inherit",
            }
        )
        child.on("exit", c => resolve(c ?? 1))
    })
    if (code === 0) tally.passed++
    else {
        tally.failed++
        tally.failures.push("typecheck of host/ and test/host/")
    }
}

/** Type-checks the firmware: `devicescript build` of every module in src/. */
async function runFirmwareTypecheck(tally: Tally) {
    console.log(`\n# typecheck: firmware (devicescript build of src/)`)
    const { code, output } = await typecheckFirmware()
    if (code === 0) tally.passed++
    else {
        console.log(`\n# typecheck: firmware failed (exit ${code})\n${output}`)
        tally.failed++
        tally.failures.push("typecheck of src/ (npm run typecheck:firmware)")
    }
}

/**
 * The type checks (host and firmware), then the device and host tests;
 * with `fast`, all side by side, the VM runs two at a time and the host
 * files four.
 */
async function runAll(
    fast: boolean,
    filters: string[],
    deviceFiles: string[],
    hostFiles: string[],
    tally: Tally
) {
    const checks = !filters.length
    if (fast)
        await Promise.all([
            checks && runHostTypecheck(tally),
            checks && runFirmwareTypecheck(tally),
            runDeviceTests(deviceFiles, tally, 2),
            runHostTests(hostFiles, tally, 4),
        ])
    else {
        if (checks) {
            await runHostTypecheck(tally)
            await runFirmwareTypecheck(tally)
        }
        await runDeviceTests(deviceFiles, tally)
        await runHostTests(hostFiles, tally)
    }
}

async function main() {
    const { values, positionals: filters } = readCommandLine(
        TEST_COMMAND,
        "test"
    )
    const fast = values.fast
    const deviceFiles = selected(
        listFiles(join(root, "test/device"), ".test.ts"),
        filters
    )
    let hostFiles = selected(
        listFiles(join(root, "test/host"), ".test.ts"),
        filters
    )
    if (fast) {
        const left = hostFiles.filter(f => leftOutOfFast(f))
        hostFiles = hostFiles.filter(f => !left.includes(f))
        console.log(
            `# --fast: ${left.length} host file(s) left out (they start the simulator or are integration tests)`
        )
    }
    if (!ensureSystemPackages(hostFiles)) process.exit(1)
    const tally: Tally = { passed: 0, failed: 0, failures: [] }
    // the host test files (and the tools they start) share their firmware
    // builds through this run's own cache: each program compiles once a run
    const cache = mkdtempSync(join(tmpdir(), "devs-build-cache-"))
    process.env[BUILD_CACHE_ENV] = cache
    try {
        await runAll(fast, filters, deviceFiles, hostFiles, tally)
    } finally {
        rmSync(cache, { recursive: true, force: true })
    }
    console.log("")
    for (const f of tally.failures) console.log(`FAILED: ${f}`)
    if (tally.passed + tally.failed === 0) {
        console.log("no test ran")
        process.exit(1)
    }
    console.log(`${tally.passed} passed, ${tally.failed} failed`)
    process.exit(tally.failed ? 1 : 0)
}

await main()
