export default function Conversations(_: { contactId?: string }) { return <div className="page"><h1>Conversations</h1></div>; }
