import { lazy, Suspense, useEffect, type ReactNode } from 'react';
import { AuthProvider, useAuth } from './lib/auth';
import { match, navigate, useRoute } from './lib/router';
import { ToastProvider } from './components/ui';
import { Layout } from './components/Layout';
import { LoginPage } from './pages/Login';
import { prefetch } from './lib/prefetch';
import { page } from './lib/page';
import { api, preloadGet } from './api/client';

// Every page but the login is loaded on demand, so the first load stays small.
const editor = page(() => import('./editor/Editor'));
const loadEditor = editor.load;
const pages = {
  flows: page(() => import('./pages/FlowList')),
  conversations: page(() => import('./pages/Conversations')),
  campaigns: page(() => import('./pages/Campaigns')),
  campaign: page(() => import('./pages/CampaignDetail')),
  channels: page(() => import('./pages/Channels')),
  templates: page(() => import('./pages/Templates')),
  waflows: page(() => import('./pages/WhatsAppFlows')),
  settings: page(() => import('./pages/Settings')),
  data: page(() => import('./pages/Data')),
};

// A page's code and its first data load side by side, not one after the
// other: on a navigation (and when a URL is opened directly) the page's
// chunk and its first GETs start together; the page's own requests for
// those URLs then take the answers (api/client preloadGet). The URLs must be
// exactly what the page asks first.
function preloadRoute(route: string) {
  const e = (s: string) => encodeURIComponent(s);
  let m: RegExpExecArray | null;
  const go = (p: { load: () => Promise<unknown> }, urls: string[]) => {
    void p.load().catch(() => {});
    urls.forEach(preloadGet);
  };
  if ((m = /^\/flows\/([^/]+)\/?$/.exec(route))) {
    const id = decodeURIComponent(m[1]);
    void loadEditor().catch(() => {});
    prefetch(`flow:${id}`, () => api.get('/chat-flow/flows/{flow_id}/', { path: { flow_id: id } }));
    prefetch('node-types', () => api.get('/chat-flow/node-types/'));
  } else if (/^\/flows\/?$/.test(route)) go(pages.flows, ['/chat-flow/flows/?limit=25']);
  else if ((m = /^\/conversations\/([^/]+)\/?$/.exec(route))) {
    const id = e(decodeURIComponent(m[1]));
    go(pages.conversations, ['/contacts/?limit=30', `/contacts/${id}/`, `/conversations/${id}/messages/?limit=50`, '/channels/']);
  } else if (/^\/conversations\/?$/.test(route)) go(pages.conversations, ['/contacts/?limit=30']);
  else if ((m = /^\/campaigns\/([^/]+)\/?$/.exec(route))) go(pages.campaign, [`/campaigns/${e(decodeURIComponent(m[1]))}/`]);
  else if (/^\/campaigns\/?$/.test(route)) go(pages.campaigns, ['/campaigns/']);
  else if (/^\/channels\/?$/.test(route)) go(pages.channels, ['/channels/', '/channel-types/']);
  else if (/^\/templates\/?$/.test(route)) go(pages.templates, ['/templates/', '/channels/']);
  else if (/^\/whatsapp-flows\/?$/.test(route)) go(pages.waflows, ['/whatsapp-flows/']);
  else if (/^\/settings\/?$/.test(route)) go(pages.settings, ['/tokens/']);
}
const currentRoute = () => window.location.pathname.replace(/^\/app/, '') || '/';
preloadRoute(currentRoute());
// Registered before React's router subscription, so it runs first on a navigation.
window.addEventListener('parley:navigate', () => preloadRoute(currentRoute()));
window.addEventListener('popstate', () => preloadRoute(currentRoute()));

const FlowList = pages.flows.Page;
const Editor = editor.Page;
const Conversations = pages.conversations.Page;
const Channels = pages.channels.Page;
const Templates = pages.templates.Page;
const WhatsAppFlows = pages.waflows.Page;
const Settings = pages.settings.Page;
const Data = pages.data.Page;
const InvitePage = lazy(() => import('./pages/Invite'));
const Campaigns = pages.campaigns.Page;
const CampaignDetail = pages.campaign.Page;

/** Loads every page's code when the browser is idle after login, so a click shows its page at once. */
function usePreloadPages(enabled: boolean) {
  useEffect(() => {
    if (!enabled) return;
    const run = () => [...Object.values(pages), editor].forEach((p) => void p.load().catch(() => {}));
    const t = setTimeout(run, 1500);
    return () => clearTimeout(t);
  }, [enabled]);
}

function Routes() {
  const route = useRoute();
  const { me, loading } = useAuth();
  usePreloadPages(!!me);
  useEffect(() => {
    if (me && (route === '/' || route === '/login')) navigate('/flows', true);
  }, [me, route]);
  if (loading) return <div className="loading">Loading…</div>;
  // An invitation link works logged out (new people have no login yet).
  if (match('/invite', route))
    return (
      <Suspense fallback={<div className="loading">Loading…</div>}>
        <InvitePage />
      </Suspense>
    );
  if (!me) return <LoginPage />;

  let page: ReactNode = null;
  let m: Record<string, string> | null;
  if ((m = match('/flows/:id', route))) page = <Editor key={`${me.project_id}:${m.id}`} flowId={m.id} />;
  else if (match('/flows', route)) page = <FlowList key={me.project_id} />;
  else if ((m = match('/conversations/:id', route))) page = <Conversations key={me.project_id} contactId={m.id} />;
  else if (match('/conversations', route)) page = <Conversations key={me.project_id} />;
  else if ((m = match('/campaigns/:id', route))) page = <CampaignDetail key={`${me.project_id}:${m.id}`} campaignId={m.id} />;
  else if (match('/campaigns', route)) page = <Campaigns key={me.project_id} />;
  else if (match('/channels', route)) page = <Channels key={me.project_id} />;
  else if (match('/templates', route)) page = <Templates key={me.project_id} />;
  else if ((m = match('/whatsapp-flows/:id', route))) page = <WhatsAppFlows key={`${me.project_id}:${m.id}`} id={m.id} />;
  else if (match('/whatsapp-flows', route)) page = <WhatsAppFlows key={me.project_id} />;
  else if (match('/data', route)) page = <Data key={me.project_id} />;
  else if (match('/settings', route)) page = <Settings key={me.project_id} />;
  else if (route === '/' || route === '/login') page = null;
  else
    page = (
      <div className="page">
        <h1>Not found</h1>
        <p>There is no page at {route}.</p>
      </div>
    );
  return (
    <Layout route={route}>
      <Suspense fallback={<div className="loading">Loading…</div>}>{page}</Suspense>
    </Layout>
  );
}

export function App() {
  return (
    <ToastProvider>
      <AuthProvider>
        <Routes />
      </AuthProvider>
    </ToastProvider>
  );
}
