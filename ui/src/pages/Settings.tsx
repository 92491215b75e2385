export default function Settings(_: { contactId?: string }) { return <div className="page"><h1>Settings</h1></div>; }
