// Lookout's shell: the navigation bar and the page for the current path.

import { StrictMode, useEffect } from "react"
import { createRoot } from "react-dom/client"

import { JobPage } from "./pages/JobPage"
import { JobsPage } from "./pages/JobsPage"
import { QueuesPage } from "./pages/QueuesPage"
import { Link, navigate, useLocation } from "./router"
import "./styles.css"

function Page({ path, search }: { path: string; search: string }) {
  const job = /^\/jobs\/([^/]+)\/?$/.exec(path)
  if (job) return <JobPage jobId={decodeURIComponent(job[1])} />
  if (path === "/jobs" || path === "/jobs/") return <JobsPage search={search} />
  if (path === "/queues" || path === "/queues/") return <QueuesPage />
  return (
    <main className="page">
      <h1>Not found</h1>
      <p>
        Lookout has no page {path}. Go to the <Link href="/jobs">jobs</Link>.
      </p>
    </main>
  )
}

function App() {
  const { path, search } = useLocation()
  useEffect(() => {
    if (path === "/" || path === "") navigate("/jobs", { replace: true })
  }, [path])
  // "/" jumps to the first filter box, as in many tables.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null
      if (event.key !== "/" || target?.closest("input, textarea, select")) return
      const box = document.querySelector<HTMLInputElement>(".filters input")
      if (box) {
        event.preventDefault()
        box.focus()
      }
    }
    window.addEventListener("keydown", onKey)
    return () => window.removeEventListener("keydown", onKey)
  }, [])
  const section = path.startsWith("/queues") ? "queues" : "jobs"
  return (
    <>
      <a className="skip" href="#content">
        Skip to the content
      </a>
      <header className="nav">
        <span className="brand">Lookout</span>
        <nav aria-label="Pages">
          <Link href="/jobs" aria-current={section === "jobs" ? "page" : undefined}>
            Jobs
          </Link>
          <Link href="/queues" aria-current={section === "queues" ? "page" : undefined}>
            Queues
          </Link>
        </nav>
      </header>
      <div id="content">
        <Page path={path} search={search} />
      </div>
    </>
  )
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
