import { createRoot } from 'react-dom/client';
import '../styles.css';
import { Preview } from './Preview';
import appointment from '../../../internal/waform/templates/appointment_booking.json';
import signup from '../../../internal/waform/templates/sign_up.json';
const which = new URLSearchParams(location.search).get('t');
createRoot(document.getElementById('root')!).render(<div style={{ padding: 16 }}><Preview flow={JSON.stringify(which === 'signup' ? signup : appointment)} /></div>);
