export default function Channels(_: { contactId?: string }) { return <div className="page"><h1>Channels</h1></div>; }
