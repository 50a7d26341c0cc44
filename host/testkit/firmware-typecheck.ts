/**
 * The firmware's type check: `devicescript build` of an entry that imports
 * every module under src/, so modules that src/main.ts does not import are
 * checked too. It is DeviceScript's own compiler (TypeScript 4.9 inside,
 * with its own options and the core library's types) that decides what the
 * firmware may be, so it is the check.
 *
 * Not `tsc -p src`: with the project's TypeScript (5.6 and later), the
 * global `IterableIterator` must take 3 type parameters, while
 * @devicescript/core's corelib.d.ts declares it with one; tsc rejects that
 * (TS2317) and then every `for...of` over an array (TS2488), in src/ and in
 * the @devicescript packages alike. src/tsconfig.json (DeviceScript's
 * template, for editors) also sets `isolatedModules`, which the compiler
 * does not.
 *
 * Usage: npm run typecheck:firmware
 */
import { readdirSync, rmSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { devs, projectRoot, shadowProject } from "../lib/devs.ts"

/** The firmware's modules: every .ts file under src/, relative, sorted. */
export function firmwareModules(dir = join(projectRoot, "src")): string[] {
    const out: string[] = []
    for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name)
        if (e.isDirectory()) out.push(...firmwareModules(p))
        else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts"))
            out.push(relative(projectRoot, p))
    }
    return out.sort()
}

/** An entry program that imports each of `modules` (paths from the root). */
export function typecheckEntry(modules: string[]): string {
    return modules.map(m => `import "./${m.replace(/\.ts$/, "")}"\n`).join("")
}

/**
 * Compiles every firmware module with `devicescript build` in a shadow
 * project (the build writes `.devicescript/` where it runs); exit code 0
 * when the firmware type-checks, the compiler's output otherwise.
 */
export async function typecheckFirmware() {
    const cwd = shadowProject("devs-typecheck-")
    try {
        const entry = "devs-typecheck.ts"
        writeFileSync(join(cwd, entry), typecheckEntry(firmwareModules()))
        return await devs(["build", "--quiet", entry], { cwd })
    } finally {
        rmSync(cwd, { recursive: true, force: true })
    }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
    const { code, output } = await typecheckFirmware()
    process.stdout.write(output)
    console.log(
        code === 0
            ? `firmware type check: ${firmwareModules().length} modules in src/ compile`
            : `firmware type check failed (devicescript build exit ${code})`
    )
    process.exit(code === 0 ? 0 : 1)
}
