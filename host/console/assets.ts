/**
 * The files the page loads: the console's own (`host/console/public/`)
 * and uPlot's from `node_modules` (no CDN: the console works offline).
 * A fixed list, so no request path ever reaches the file system. They
 * hold no state and no secret, so they are served without the token.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"

const here = import.meta.dirname
const uplot = join(here, "../../node_modules/uplot/dist")

const TYPES: Record<string, string> = {
    js: "text/javascript; charset=utf-8",
    css: "text/css; charset=utf-8",
    html: "text/html; charset=utf-8",
}

/** URL path → file. */
const FILES: Record<string, string> = {
    "/static/app.js": join(here, "public/app.js"),
    "/static/dom.js": join(here, "public/dom.js"),
    "/static/fleet.js": join(here, "public/fleet.js"),
    "/static/device.js": join(here, "public/device.js"),
    "/static/actions.js": join(here, "public/actions.js"),
    "/static/readings.js": join(here, "public/readings.js"),
    "/static/chart-fields.js": join(here, "public/chart-fields.js"),
    "/static/visible.js": join(here, "public/visible.js"),
    "/static/token.js": join(here, "public/token.js"),
    "/static/event-stream.js": join(here, "public/event-stream.js"),
    "/static/console.css": join(here, "public/console.css"),
    "/static/uplot.esm.js": join(uplot, "uPlot.esm.js"),
    "/static/uplot.min.css": join(uplot, "uPlot.min.css"),
}

/** The asset at `path` (content type and bytes), or undefined. */
export function asset(
    path: string
): { type: string; body: Buffer } | undefined {
    const file = FILES[path]
    if (!file) return undefined
    return {
        type: TYPES[file.split(".").pop()!],
        body: readFileSync(file),
    }
}

/** The page, with the token in a meta tag for the page's actions. */
export function indexPage(token: string): string {
    return readFileSync(join(here, "public/index.html"), "utf8").replace(
        "%TOKEN%",
        token.replace(/[^0-9a-f]/g, "")
    )
}
