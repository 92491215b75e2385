import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, ApiError, onUnauthorized, setCsrfToken, type Schemas } from '../api/client';

export type Me = Schemas['SessionInfo'];

interface AuthState {
  me: Me | null;
  loading: boolean;
  login: (email: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
  switchProject: (projectId: string) => Promise<void>;
  refresh: () => Promise<void>;
}

const Ctx = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [loading, setLoading] = useState(true);

  const refresh = useCallback(async () => {
    try {
      const m = await api.get('/auth/me');
      setCsrfToken(m.csrf_token ?? "");
      setMe(m);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setMe(null);
      else throw e;
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    refresh().catch(() => setLoading(false));
    return onUnauthorized(() => setMe(null));
  }, [refresh]);

  const value = useMemo<AuthState>(
    () => ({
      me,
      loading,
      refresh,
      login: async (email, password) => {
        const m = await api.post('/auth/login', { body: { email, password } });
        setCsrfToken(m.csrf_token ?? "");
        setMe(m);
      },
      logout: async () => {
        try {
          await api.post('/auth/logout');
        } finally {
          setCsrfToken('');
          setMe(null);
        }
      },
      switchProject: async (projectId) => {
        const m = await api.post('/auth/project', { body: { project_id: projectId } });
        setCsrfToken(m.csrf_token ?? "");
        setMe(m);
      },
    }),
    [me, loading, refresh],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useAuth(): AuthState {
  const v = useContext(Ctx);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}

/** The logged-in session; only for pages rendered behind the login. */
export function useMe(): Me {
  const { me } = useAuth();
  if (!me) throw new Error('not logged in');
  return me;
}

export function canEdit(me: Me): boolean {
  return me.role === 'owner' || me.role === 'editor';
}
