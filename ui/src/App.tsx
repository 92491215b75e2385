import { lazy, Suspense, useEffect, type ReactNode } from 'react';
import { AuthProvider, useAuth } from './lib/auth';
import { match, navigate, useRoute } from './lib/router';
import { ToastProvider } from './components/ui';
import { Layout } from './components/Layout';
import { LoginPage } from './pages/Login';
import { prefetch } from './lib/prefetch';
import { api } from './api/client';

// Every page but the login is loaded on demand, so the first load stays small.
const loadEditor = () => import('./editor/Editor');
// Opening a flow's URL directly: load the editor and its data alongside the login check.
{
  const m = /^\/app\/flows\/([^/]+)\/?$/.exec(window.location.pathname);
  if (m) {
    const id = decodeURIComponent(m[1]);
    void loadEditor().catch(() => {});
    prefetch(`flow:${id}`, () => api.get('/chat-flow/flows/{flow_id}/', { path: { flow_id: id } }));
    prefetch('node-types', () => api.get('/chat-flow/node-types/'));
  }
}
const FlowList = lazy(() => import('./pages/FlowList'));
const Editor = lazy(loadEditor);
const Conversations = lazy(() => import('./pages/Conversations'));
const Channels = lazy(() => import('./pages/Channels'));
const Templates = lazy(() => import('./pages/Templates'));
const WhatsAppFlows = lazy(() => import('./pages/WhatsAppFlows'));
const Settings = lazy(() => import('./pages/Settings'));
const InvitePage = lazy(() => import('./pages/Invite'));
const Campaigns = lazy(() => import('./pages/Campaigns'));
const CampaignDetail = lazy(() => import('./pages/CampaignDetail'));

function Routes() {
  const route = useRoute();
  const { me, loading } = useAuth();
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
