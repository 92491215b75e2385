export default function Templates(_: { contactId?: string }) { return <div className="page"><h1>Templates</h1></div>; }
