// The admin pages' one stylesheet, served as /admin/style.css so the pages' CSP
// can forbid inline styles and scripts.
export const STYLESHEET = `
:root { color-scheme: light; --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --accent: #2451b7; --bad: #b42318; --ok: #067647; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #f6f7f9; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #fff; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; }
header nav { display: flex; gap: 1rem; flex: 1; }
header form { margin: 0; }
main { padding: 1rem 1.2rem 3rem; max-width: 1200px; }
h1 { font-size: 1.3rem; margin: .4rem 0 1rem; }
h2 { font-size: 1.05rem; margin: 1.6rem 0 .6rem; }
a { color: var(--accent); }
table { border-collapse: collapse; background: #fff; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
.muted { color: var(--muted); }
.status { display: inline-block; padding: 0 .45rem; border-radius: 9px; font-size: 12px; background: #eef1f6; }
.status-failed, .status-expired { background: #fde8e7; color: var(--bad); }
.status-sent { background: #e3f6ec; color: var(--ok); }
.notice { padding: .6rem .8rem; border-radius: 6px; background: #eef4ff; border: 1px solid #c7d7fe; margin: 0 0 1rem; }
.error { background: #fef3f2; border-color: #fecdca; color: var(--bad); }
form.filters { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; margin-bottom: 1rem; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: .15rem; }
input, select, button { font: inherit; padding: .3rem .5rem; border: 1px solid var(--line); border-radius: 5px; background: #fff; }
button { cursor: pointer; background: var(--accent); color: #fff; border-color: var(--accent); }
button.secondary { background: #fff; color: var(--fg); border-color: var(--line); }
button.danger { background: var(--bad); border-color: var(--bad); }
.actions { display: flex; gap: .6rem; margin: 1rem 0; flex-wrap: wrap; }
.actions form { margin: 0; }
.pager { margin: 1rem 0; display: flex; gap: 1rem; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; background: #fff; padding: .8rem; border: 1px solid var(--line); }
dl.fields dt { color: var(--muted); }
dl.fields dd { margin: 0; }
iframe.preview { width: 100%; height: 640px; border: 1px solid var(--line); background: #fff; }
pre { white-space: pre-wrap; word-break: break-word; background: #fff; border: 1px solid var(--line); padding: .6rem; margin: 0; }
.login { max-width: 360px; margin: 4rem auto; background: #fff; padding: 1.5rem; border: 1px solid var(--line); border-radius: 8px; }
.login label { display: block; margin-bottom: .8rem; }
.login input { width: 100%; margin-top: .3rem; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; margin-bottom: 1rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; min-width: 180px; }
.card .value { font-size: 1.5rem; font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 1rem; }
figure.chart { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .6rem .8rem; }
figure.chart figcaption { font-weight: 600; margin-bottom: .3rem; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figure.chart svg a rect:hover { opacity: .75; }
details.chart-data summary { cursor: pointer; color: var(--muted); font-size: 12px; margin-top: .3rem; }
details.chart-data table { margin-top: .4rem; font-size: 12px; }
`;
