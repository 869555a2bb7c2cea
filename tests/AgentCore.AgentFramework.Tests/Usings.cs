global using AgentCore.Testing;
global using FluentAssertions;
global using Microsoft.Agents.AI;
global using Microsoft.Extensions.AI;
global using NUnit.Framework;
